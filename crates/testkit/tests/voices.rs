//! Choosing a dub's voice: `GET /v1/voices` lists, per language, the voices
//! the configured engines offer (the default first); a dub asking for one
//! is spoken in it (Kokoro's five speakers, in any of its languages); and a
//! voice no engine of a target offers, a malformed name, or a voice on a job
//! that speaks nothing is refused with a message saying what to pick.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use voxline_config::EngineSettings;
use voxline_core::Language;
use voxline_providers::{CallLog, Engines, Unlimited};
use voxline_testkit::{TestEnv, installed_engines, sample_clip, spawn_system};

fn kokoro_first(e: &mut EngineSettings) {
    e.synthesize = vec!["kokoro".into(), "espeak-ng".into()];
    installed_engines(e);
}

fn names(language: &Value) -> Vec<&str> {
    language["voices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn each_voice_speaks_differently() {
    let mut settings = EngineSettings::default();
    kokoro_first(&mut settings);
    let engines =
        Engines::from_settings(&settings, &Default::default(), Arc::new(Unlimited)).unwrap();
    let (es, log) = (Language::parse("es").unwrap(), CallLog::default());
    let dir = tempfile::tempdir().unwrap();
    let mut heard = Vec::new();
    for voice in ["jm_kumo", "jf_alpha"] {
        let wav = dir.path().join(format!("{voice}.wav"));
        let engine = engines
            .synthesize("Buenos días a todos.", &es, Some(voice), &wav, &log)
            .await
            .unwrap();
        assert_eq!(engine, "kokoro");
        heard.push(std::fs::read(&wav).unwrap());
    }
    assert_ne!(heard[0], heard[1], "two voices, two recordings");
    // A voice no engine has for the language: nothing speaks it.
    let err = engines
        .synthesize(
            "Hola.",
            &es,
            Some("nobody"),
            &dir.path().join("x.wav"),
            &log,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("nobody"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dub_is_spoken_in_the_voice_it_asks_for_and_unknown_voices_are_refused()
-> anyhow::Result<()> {
    let mut env = TestEnv::new().await?;
    kokoro_first(&mut env.settings.engines);
    let sys = spawn_system(env).await?;

    let (s, voices) = sys.get("/v1/voices").await?;
    assert_eq!(s, 200, "{voices}");
    let language = |code: &str| {
        voices["languages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["language"] == code)
            .cloned()
            .unwrap_or_else(|| panic!("{code} in {voices}"))
    };
    let spanish = language("es");
    assert_eq!(
        names(&spanish)[0],
        "jm_kumo",
        "the default first: {spanish}"
    );
    assert_eq!(names(&spanish).len(), 5, "{spanish}");
    assert_eq!(names(&language("fr"))[0], "jf_gongitsune");
    let defaults: Vec<bool> = spanish["voices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["default"].as_bool().unwrap())
        .collect();
    assert_eq!(defaults, [true, false, false, false, false], "{spanish}");
    assert_eq!(spanish["voices"][0]["engine"], "kokoro");

    let clip = sample_clip(&sys.env.path("media"))?;
    let (_, upload) = sys.upload(&clip).await?;
    let dub = |target: &str, options: Value| {
        json!({"kind": "dub", "source_upload_id": upload["id"], "source_language": "en",
               "target_languages": [target], "options": options})
    };
    let (s, job) = sys
        .post("/v1/jobs", &dub("es", json!({"voice": "jf_alpha"})))
        .await?;
    assert_eq!(s, 202, "{job}");
    let done = sys
        .wait_for_job(job["id"].as_str().unwrap(), Duration::from_secs(240))
        .await?;
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(done["options"]["voice"], "jf_alpha", "{done:#}");
    let synthesize = done["tasks"][0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["stage"] == "synthesize")
        .unwrap();
    assert_eq!(synthesize["engine"], "kokoro", "{done:#}");

    let refusals = [
        (
            dub("es", json!({"voice": "nobody"})),
            "unknown_voice",
            "jm_kumo",
        ),
        // Catalan is spoken by espeak-ng alone, which offers no choice.
        (
            dub("ca", json!({"voice": "jf_alpha"})),
            "unknown_voice",
            "no voice to choose from",
        ),
        (
            dub("es", json!({"voice": "bad name!"})),
            "invalid_option",
            "GET /v1/voices",
        ),
        (
            json!({"kind": "subtitle", "source_upload_id": upload["id"], "source_language": "en",
                   "target_languages": ["es"], "options": {"voice": "jf_alpha"}}),
            "invalid_option",
            "dub",
        ),
    ];
    for (body, code, hint) in refusals {
        let (s, b) = sys.post("/v1/jobs", &body).await?;
        assert_eq!((s, b["error"]["code"].as_str()), (422, Some(code)), "{b}");
        let message = b["error"]["message"].as_str().unwrap();
        assert!(message.contains(hint), "{message}");
    }
    sys.stop().await
}
