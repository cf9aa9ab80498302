//! whisper.cpp on the models `scripts/setup.sh` converts from PyPI's
//! packages: it hears people (LibriVox readings) and the sample narration
//! with its timings, detects a Spanish source, and a Spanish clip is dubbed
//! into English end to end (whisper → apertium spa-eng → espeak-ng) with
//! `source_language: auto`.
#![cfg(feature = "whisper")]

use std::time::Duration;

use serde_json::json;
use voxline_core::Language;
use voxline_providers::{SpeechToText, Whisper};
use voxline_testkit::recordings;
use voxline_testkit::views::{artifact, download_text, stage};
use voxline_testkit::wer::{wer, word_errors};
use voxline_testkit::{TestEnv, sample_clip_in, sample_clip_saying, spawn_system, whisper_model};

const NARRATION: &str =
    "Welcome to the show. Today we talk about music. I like to read books. Thank you very much.";
const SPANISH: &str = "Buenos días a todos. Hoy hablamos de música. Muchas gracias.";

fn text_of(t: &voxline_core::Transcript) -> String {
    t.segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn whisper_hears_people_reading() {
    let base = Whisper::new(&whisper_model("ggml-base.bin"), 2).unwrap();
    let en = Language::parse("en").unwrap();
    let (mut errors, mut words) = (0, 0);
    let mut heard_all = Vec::new();
    for r in recordings::librivox() {
        let t = base.transcribe(&r.path, Some(&en)).await.unwrap();
        let heard = text_of(&t);
        let (e, w) = word_errors(&r.reference, &heard);
        (errors, words) = (errors + e, words + w);
        heard_all.push(heard);
    }
    // docs/quality.md has the measured rates; this holds whisper to far
    // better than pocketsphinx does on the same readings.
    let rate = errors as f64 / words as f64;
    assert!(words > 60 && rate < 0.15, "WER {rate:.3}: {heard_all:#?}");
}

#[tokio::test]
async fn both_models_hear_the_sample_narration_with_its_timings() {
    let dir = tempfile::tempdir().unwrap();
    let clip = sample_clip_saying(dir.path(), Some(NARRATION)).unwrap();
    let en = Language::parse("en").unwrap();
    for model in ["ggml-tiny.en.bin", "ggml-base.bin"] {
        let whisper = Whisper::new(&whisper_model(model), 2).unwrap();
        let t = whisper.transcribe(&clip, Some(&en)).await.unwrap();
        let heard = text_of(&t);
        let error = wer(NARRATION, &heard);
        assert!(error <= 0.2, "{model}: WER {error:.2}: {heard:?}");
        assert_eq!((t.language.as_str(), t.engine.as_str()), ("en", "whisper"));
        // The narration starts after a second of silence and ends a
        // second before the clip does.
        let (first, last) = (&t.segments[0], t.segments.last().unwrap());
        assert!(first.start >= 0.5, "{model}: {first:?}");
        assert!(
            last.end <= t.duration && last.end > t.duration - 3.0,
            "{model}: {last:?}"
        );
        assert!(t.segments.windows(2).all(|w| w[0].end <= w[1].start + 0.01));
        // Word timings too, each inside its line.
        assert!(t.words.len() >= 15, "{model}: {:?}", t.words);
        for w in &t.words {
            let line = t.segments.iter().find(|s| s.id == w.segment).unwrap();
            assert!(
                line.start - 0.01 <= w.start && w.end <= line.end + 0.01,
                "{w:?} in {line:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_multilingual_model_detects_spanish_and_the_english_one_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let clip = sample_clip_in(dir.path(), Some(SPANISH), "es", "spa").unwrap();
    let base = Whisper::new(&whisper_model("ggml-base.bin"), 2).unwrap();
    assert!(base.detects_language() && base.languages().contains(&"gl"));
    let t = base.transcribe(&clip, None).await.unwrap();
    assert_eq!(t.language, "es", "{t:?}");
    let error = wer(SPANISH, &text_of(&t));
    assert!(error <= 0.35, "WER {error:.2}: {:?}", text_of(&t));

    let tiny = Whisper::new(&whisper_model("ggml-tiny.en.bin"), 2).unwrap();
    assert_eq!(tiny.languages(), ["en"]);
    assert!(!tiny.detects_language());
    let es = Language::parse("es").unwrap();
    let err = tiny.transcribe(&clip, Some(&es)).await.unwrap_err();
    assert!(err.to_string().contains("Spanish"), "{err}");
}

#[tokio::test]
async fn a_spanish_clip_is_dubbed_into_english_from_an_auto_detected_source() {
    let mut env = TestEnv::new().await.unwrap();
    env.settings.engines.transcribe = vec!["whisper".into(), "pocketsphinx".into()];
    env.settings.engines.whisper_model = whisper_model("ggml-base.bin");
    let sys = spawn_system(env).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clip = sample_clip_in(dir.path(), Some(SPANISH), "es", "spa").unwrap();
    let (status, upload) = sys.upload(&clip).await.unwrap();
    assert_eq!(status, 201, "{upload}");
    let (status, job) = sys
        .post(
            "/v1/jobs",
            &json!({"kind": "dub", "source_upload_id": upload["id"], "source_language": "auto",
                    "target_languages": ["en"]}),
        )
        .await
        .unwrap();
    assert_eq!(status, 202, "{job}");
    let done = sys
        .wait_for_job(job["id"].as_str().unwrap(), Duration::from_secs(180))
        .await
        .unwrap();
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(done["source_artifacts"][0]["engine"], "whisper", "{done:#}");
    let task = &done["tasks"][0];
    assert_eq!(stage(task, "translate")["engine"], "apertium", "{task:#}");
    // The English subtitles hold the translated lines.
    let body = download_text(artifact(task, "subtitles_vtt"))
        .await
        .unwrap()
        .to_lowercase();
    assert!(
        body.contains("music") && (body.contains("thank") || body.contains("good")),
        "{body}"
    );
    sys.stop().await.unwrap();
}
