//! Piper, installed by `scripts/setup.sh` from PyPI with its English voice:
//! it speaks English lines as real speech, hands other languages to the
//! next engine, and a voice that is not there stops the chain at start-up
//! with the key named.

use voxline_config::EngineSettings;
use voxline_core::Language;
use voxline_media::audio;
use voxline_providers::{CallLog, Engines, Unlimited};
use voxline_testkit::installed;

fn settings() -> EngineSettings {
    EngineSettings {
        synthesize: vec!["piper".into(), "espeak-ng".into()],
        piper_binary: installed("target/tools/piper/bin/piper"),
        piper_voices: [(
            "en".to_owned(),
            installed("target/tools/piper/voices/en_US-joe-medium.onnx"),
        )]
        .into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn piper_speaks_english_and_leaves_other_languages_to_espeak() {
    let engines = Engines::from_settings(
        &settings(),
        &Default::default(),
        std::sync::Arc::new(Unlimited),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = CallLog::default();
    let wav = dir.path().join("en.wav");
    let en = Language::parse("en").unwrap();
    let engine = engines
        .synthesize(
            "Welcome to the show. Today we talk about music.",
            &en,
            None,
            &wav,
            &log,
        )
        .await
        .unwrap();
    assert_eq!(engine, "piper");
    let seconds = audio::duration(&wav).await.unwrap();
    assert!((1.5..6.0).contains(&seconds), "{seconds} s");
    let samples = audio::read_wav_samples(&wav).unwrap();
    let loud = samples.iter().filter(|s| s.unsigned_abs() > 1_000).count();
    assert!(
        loud > samples.len() / 10,
        "mostly silence: {loud} of {}",
        samples.len()
    );

    let es = Language::parse("es").unwrap();
    let engine = engines
        .synthesize("Hola a todos.", &es, None, &dir.path().join("es.wav"), &log)
        .await
        .unwrap();
    assert_eq!(engine, "espeak-ng");
    assert_eq!(log.totals()[0].engine, "piper");
}

#[test]
fn a_missing_voice_or_program_is_refused_naming_the_key() {
    let mut s = settings();
    s.piper_voices
        .insert("de".into(), "/nowhere/de.onnx".into());
    let err = Engines::from_settings(&s, &Default::default(), std::sync::Arc::new(Unlimited))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("engines.piper_voices.de"), "{err}");

    let mut s = settings();
    s.piper_binary = "/nowhere/piper".into();
    let err = Engines::from_settings(&s, &Default::default(), std::sync::Arc::new(Unlimited))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("engines.piper_binary"), "{err}");
}
