//! Whole dubs on cloud engines (local fakes of OpenAI and ElevenLabs),
//! through the real system: the job view names the engine behind each
//! artifact, every call is a priced usage row (tokens, characters, audio
//! seconds, failed calls too), a vendor that fails hands its lines to the
//! next engine, and credits settle to the cent.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use voxline_config::{
    ElevenLabsSettings, OpenAiSettings, PriceTable, Secret, VendorLimits, VendorSettings,
};
use voxline_testkit::vendors::{FakeElevenLabs, FakeOpenAi, Fault};
use voxline_testkit::{TestEnv, sample_clip_saying, spawn_system};

const ADMIN: &str = "test-admin-token-0123456789";

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn limits() -> VendorLimits {
    VendorLimits {
        timeout_seconds: 5,
        max_retries: 1,
        max_retry_wait_seconds: 2,
        ..Default::default()
    }
}

/// ElevenLabs at its fake.
fn elevenlabs(fake: &FakeElevenLabs) -> VendorSettings {
    VendorSettings::ElevenLabs(ElevenLabsSettings {
        base_url: fake.base_url(),
        api_key: Secret::new(voxline_testkit::vendors::elevenlabs::KEY),
        limits: limits(),
        ..Default::default()
    })
}

fn prices() -> PriceTable {
    let table = |pairs: &[(&str, f64)]| {
        pairs
            .iter()
            .map(|(u, p)| ((*u).to_owned(), *p))
            .collect::<BTreeMap<_, _>>()
    };
    PriceTable(BTreeMap::from([
        (
            "openai".to_owned(),
            table(&[("audio_seconds", 0.0001), ("tokens", 0.000002)]),
        ),
        ("elevenlabs".to_owned(), table(&[("characters", 0.00003)])),
    ]))
}

/// `(engine, stage, unit, ok)` of every usage row.
fn usage_rows(job: &Value) -> Vec<(String, String, String, bool)> {
    job["usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["engine"].as_str().unwrap().to_owned(),
                u["stage"].as_str().unwrap().to_owned(),
                u["unit"].as_str().unwrap().to_owned(),
                u["ok"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn row(engine: &str, stage: &str, unit: &str, ok: bool) -> (String, String, String, bool) {
    (engine.into(), stage.into(), unit.into(), ok)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dub_on_cloud_engines_names_them_prices_them_and_falls_back() -> anyhow::Result<()> {
    let openai = FakeOpenAi::start().await;
    let eleven = FakeElevenLabs::start().await;
    let mut env = TestEnv::new().await?;
    env.settings.vendors.insert(
        "openai".into(),
        VendorSettings::OpenAi(OpenAiSettings {
            base_url: openai.base_url(),
            api_key: Secret::new(voxline_testkit::vendors::openai::KEY),
            limits: limits(),
            ..Default::default()
        }),
    );
    env.settings
        .vendors
        .insert("elevenlabs".into(), elevenlabs(&eleven));
    env.settings.engines.transcribe = vec!["openai".into(), "pocketsphinx".into()];
    env.settings.engines.translate = vec!["openai".into(), "apertium".into()];
    env.settings.engines.synthesize = vec!["elevenlabs".into(), "espeak-ng".into()];
    env.settings.prices = prices();
    env.settings.credits.enabled = true;
    env.settings.auth.admin_token = Secret::new(ADMIN);
    let sys = spawn_system(env).await?;
    let grant = json!({"tenant": "tenant-a", "amount": 5.0});
    let (s, _, _) = sys
        .call(Method::POST, "/v1/admin/credits", Some(ADMIN), Some(&grant))
        .await?;
    assert_eq!(s, 200);

    let clip = sample_clip_saying(
        &sys.env.path("media"),
        Some("Hello there. Welcome to the show."),
    )?;
    let (_, upload) = sys.upload(&clip).await?;
    let seconds = upload["duration"].as_f64().unwrap();
    let price = (seconds * 0.1 * 10_000.0).round() / 10_000.0;
    let dub = json!({"kind": "dub", "source_upload_id": upload["id"], "source_language": "auto",
                     "target_languages": ["es"]});

    // All on the cloud. The voice answers slowly: its lines are asked for
    // together, not one after the other.
    eleven.script.push_n(2, Fault::Slow(Duration::from_secs(3)));
    let (s, job) = sys.post("/v1/jobs", &dub).await?;
    assert_eq!(s, 202, "{job}");
    let done = sys
        .wait_for_job(job["id"].as_str().unwrap(), Duration::from_secs(120))
        .await?;
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(done["source_language"], "auto");
    let transcript = done["source_artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "transcript")
        .unwrap_or_else(|| panic!("a transcript: {done:#}"));
    assert_eq!(
        (transcript["kind"].as_str(), transcript["engine"].as_str()),
        (Some("transcript"), Some("openai"))
    );
    let task = &done["tasks"][0];
    let engine_of = |stage: &str| {
        task["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stage"] == stage)
            .and_then(|s| s["engine"].as_str())
            .map(str::to_owned)
    };
    assert_eq!(
        engine_of("translate").as_deref(),
        Some("openai"),
        "{task:#}"
    );
    assert_eq!(engine_of("synthesize").as_deref(), Some("elevenlabs"));
    let asked: Vec<_> = eleven.script.seen().iter().map(|s| s.at).collect();
    assert_eq!(asked.len(), 2, "one request a line");
    assert!(
        asked[1] - asked[0] < Duration::from_millis(2500),
        "the second line was asked for only after the first was answered"
    );
    let rows = usage_rows(&done);
    for expected in [
        row("openai", "transcribe", "audio_seconds", true),
        row("openai", "translate", "characters", true),
        row("openai", "translate", "tokens", true),
        row("elevenlabs", "synthesize", "characters", true),
    ] {
        assert!(rows.contains(&expected), "{expected:?} in {rows:?}");
    }
    let cost: f64 = done["usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["cost_usd"].as_f64().unwrap())
        .sum();
    assert!(cost > 0.0, "{done:#}");
    let tokens = done["usage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"] == "tokens")
        .unwrap();
    assert!(close(
        tokens["cost_usd"].as_f64().unwrap(),
        tokens["units"].as_f64().unwrap() * 0.000002
    ));

    // ElevenLabs refuses the key: its lines go to espeak-ng, at once.
    let before = eleven.script.seen().len();
    eleven.script.push_n(20, Fault::Status(401));
    let (s, job) = sys.post("/v1/jobs", &dub).await?;
    assert_eq!(s, 202, "{job}");
    let done = sys
        .wait_for_job(job["id"].as_str().unwrap(), Duration::from_secs(120))
        .await?;
    assert_eq!(done["status"], "completed", "{done:#}");
    let task = &done["tasks"][0];
    let synthesize = task["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "synthesize")
        .unwrap();
    assert_eq!(synthesize["engine"], "espeak-ng", "{task:#}");
    let rows = usage_rows(&done);
    assert!(
        rows.contains(&row("elevenlabs", "synthesize", "characters", false)),
        "{rows:?}"
    );
    assert!(
        rows.contains(&row("espeak-ng", "synthesize", "characters", true)),
        "{rows:?}"
    );
    let lines = eleven.script.seen().len() - before;
    let failed = done["usage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["engine"] == "elevenlabs")
        .unwrap();
    assert_eq!(
        failed["calls"].as_i64().unwrap() as usize,
        lines,
        "one try per line: {failed}"
    );
    assert!(
        failed["error"].as_str().unwrap().contains("401"),
        "{failed}"
    );
    assert!(
        close(failed["cost_usd"].as_f64().unwrap(), 0.0),
        "refused calls cost nothing"
    );

    // Two languages completed, each charged its price; nothing held.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, credits) = sys.get("/v1/credits").await?;
    assert!(
        close(credits["available"].as_f64().unwrap(), 5.0 - 2.0 * price),
        "{credits}"
    );
    assert!(
        close(credits["reserved"].as_f64().unwrap(), 0.0),
        "{credits}"
    );
    assert_eq!(openai.script.problems(), Vec::<String>::new());
    assert_eq!(eleven.script.problems(), Vec::<String>::new());
    sys.stop().await
}

/// Voice cloning through ElevenLabs (its fake): a dub that states its
/// speakers' consent has each speaker cloned once from their own speech (a
/// sample of real human reading, checked to be audio), every line of theirs
/// spoken in their clone, and the clones deleted at the vendor by the
/// janitor once the job's files have expired. Without consent, or without
/// an engine that clones, the job is refused with a reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn speakers_are_cloned_with_consent_and_the_clones_deleted_when_the_files_expire()
-> anyhow::Result<()> {
    use voxline_testkit::recordings::two_speakers;
    use voxline_testkit::views;

    let eleven = FakeElevenLabs::start().await;
    let mut env = TestEnv::new().await?;
    env.settings
        .vendors
        .insert("elevenlabs".into(), elevenlabs(&eleven));
    env.settings.engines.synthesize = vec!["elevenlabs".into(), "espeak-ng".into()];
    let settings = env.settings.clone();
    let sys = spawn_system(env).await?;
    let (clip, _) = two_speakers(&sys.env.path("media"))?;
    let (_, upload) = sys.upload(&clip).await?;
    let dub = |options: Value| {
        json!({"kind": "dub", "source_upload_id": upload["id"], "source_language": "en",
               "target_languages": ["es"], "options": options})
    };

    // No consent, no clone.
    let (s, refused) = sys
        .post(
            "/v1/jobs",
            &dub(json!({"clone_voices": {"consent": false}})),
        )
        .await?;
    assert_eq!(s, 422, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("consent"),
        "{refused}"
    );
    let (s, refused) = sys
        .post(
            "/v1/jobs",
            &json!({"kind": "subtitle", "source_upload_id": upload["id"], "source_language": "en",
                    "target_languages": ["es"], "options": {"clone_voices": {"consent": true}}}),
        )
        .await?;
    assert_eq!(s, 422, "{refused}");

    let (s, job) = sys
        .post(
            "/v1/jobs",
            &dub(json!({"clone_voices": {"consent": true}, "speakers": 2})),
        )
        .await?;
    assert_eq!(s, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    let done = sys.wait_for_job(&id, Duration::from_secs(300)).await?;
    assert_eq!(done["status"], "completed", "{done:#}");

    // One clone per speaker, each from seconds of their own speech.
    let clones: Vec<Value> = eleven
        .script
        .seen()
        .iter()
        .filter(|s| s.path == "/v1/voices/add")
        .map(|s| s.body.clone())
        .collect();
    assert_eq!(clones.len(), 2, "{clones:#?}");
    for clone in &clones {
        assert!(clone["seconds"].as_f64().unwrap() >= 3.0, "{clone}");
        assert!(clone["name"].as_str().unwrap().contains(&id), "{clone}");
    }
    let transcript = done["source_artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "transcript")
        .unwrap();
    let transcript: Value = serde_json::from_str(&views::download_text(transcript).await?)?;
    let note = transcript["clones_note"].as_str().unwrap_or_default();
    assert!(
        note.contains("S1 cloned") && note.contains("S2 cloned"),
        "{transcript:#}"
    );

    // Every line in its speaker's clone, and only ElevenLabs spoke.
    let synthesis = done["tasks"][0]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "synthesis")
        .unwrap();
    let synthesis: Value = serde_json::from_str(&views::download_text(synthesis).await?)?;
    let mut voices = std::collections::BTreeMap::new();
    for line in synthesis["segments"].as_array().unwrap() {
        assert_eq!(line["engine"], "elevenlabs", "{line}");
        let voice = line["voice"].as_str().unwrap_or_default().to_owned();
        assert!(voice.starts_with("cloned at elevenlabs: cloned"), "{line}");
        let speaker = line["speaker"].as_str().unwrap().to_owned();
        assert_eq!(
            voices.entry(speaker).or_insert_with(|| voice.clone()),
            &voice,
            "one voice per speaker"
        );
    }
    assert_eq!(voices.len(), 2, "{voices:?}");
    let spoken_in: std::collections::BTreeSet<String> = eleven
        .script
        .seen()
        .iter()
        .filter(|s| s.path.starts_with("/v1/text-to-speech/"))
        .map(|s| s.body["voice"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        spoken_in,
        ["cloned0000".to_owned(), "cloned0001".to_owned()].into(),
        "the lines are spoken in the clones"
    );

    // Not deleted while the job's files are kept...
    let c = voxline_worker::Connections::open(&settings).await?;
    let cloners = voxline_janitor::cloners(&settings).await;
    assert_eq!(voxline_janitor::delete_clones_once(&c, &cloners).await?, 0);
    assert!(eleven.deleted_voices().is_empty());
    // ...and deleted at the vendor once they have expired and gone.
    let job_id = uuid::Uuid::parse_str(&id)?;
    c.db.client()
        .await?
        .execute(
            "UPDATE artifacts SET expires_at = now() - interval '1 hour' WHERE job_id = $1",
            &[&job_id],
        )
        .await?;
    voxline_janitor::sweep_once(&c).await?;
    assert_eq!(voxline_janitor::delete_clones_once(&c, &cloners).await?, 2);
    let mut deleted = eleven.deleted_voices();
    deleted.sort();
    assert_eq!(deleted, ["cloned0000", "cloned0001"]);
    assert_eq!(voxline_janitor::delete_clones_once(&c, &cloners).await?, 0);
    assert_eq!(eleven.script.problems(), Vec::<String>::new());
    sys.stop().await
}
