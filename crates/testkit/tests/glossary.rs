//! A job's glossary through every offline translator: kept terms come out
//! verbatim and fixed ones as the job says, in each language the offline
//! engines serve (Bergamot for Portuguese, apertium for the rest, through
//! Spanish for French and Italian); end to end, a dub's lines honour it and
//! its report says nothing was missed; a malformed glossary is refused.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use voxline_config::EngineSettings;
use voxline_core::glossary::{self, Term};
use voxline_core::{Language, Segment};
use voxline_providers::{CallLog, Engines, Unlimited};
use voxline_testkit::{TestEnv, installed_engines, sample_clip_saying, spawn_system};

fn term(text: &str, translations: &[(&str, &str)]) -> Term {
    Term {
        term: text.into(),
        translations: translations
            .iter()
            .map(|(l, t)| (l.to_string(), t.to_string()))
            .collect(),
        pronunciations: Default::default(),
    }
}

#[tokio::test]
async fn kept_and_fixed_terms_survive_every_offline_translator() {
    let mut settings = EngineSettings {
        translate: vec!["bergamot".into(), "apertium".into()],
        ..Default::default()
    };
    installed_engines(&mut settings);
    let engines = Engines::from_settings(&settings, &Default::default(), Arc::new(Unlimited))
        .expect("the offline translators are installed");
    let terms = [
        term("Voxline", &[]),
        term("Apple", &[]),
        term("Market Street", &[]),
        term(
            "dubbing",
            &[
                ("es", "doblaje"),
                ("fr", "doublage"),
                ("it", "doppiaggio"),
                ("pt", "dublagem"),
            ],
        ),
    ];
    let lines = [
        Segment::new(1, 0.0, 3.0, "Welcome to Voxline, the best dubbing studio."),
        Segment::new(
            2,
            3.0,
            6.0,
            "Apple opened a new shop on Market Street yesterday.",
        ),
        Segment::new(3, 6.0, 9.0, "I like to read books about apple trees."),
    ];
    let (en, log) = (Language::parse("en").unwrap(), CallLog::default());
    for code in ["es", "fr", "it", "pt"] {
        let to = Language::parse(code).unwrap();
        let protected = glossary::protect(&lines, &terms);
        let (translated, engine) = engines
            .translate(&protected.lines, &en, &to, &log)
            .await
            .unwrap();
        let (out, misses) = glossary::restore(&protected, &translated, &terms, code);
        let text = out
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join(" | ");
        assert!(
            misses.is_empty(),
            "{code} ({engine}) lost {misses:?}: {text}"
        );
        for kept in ["Voxline", "Market Street"] {
            assert!(text.contains(kept), "{code} ({engine}): {kept} in {text}");
        }
        assert!(out[1].text.contains("Apple"), "{code}: {text}");
        assert!(text.contains(terms[3].rendering(code)), "{code}: {text}");
        // "apple trees" holds the word, and so keeps it as the job says.
        assert!(out[2].text.contains("Apple"), "{code}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dub_honours_its_glossary_and_says_so() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    let clip = sample_clip_saying(
        &sys.env.path("media"),
        Some("Welcome to the show. Today we talk about music. Thank you very much."),
    )?;
    let (_, upload) = sys.upload(&clip).await?;
    let dub = |glossary: serde_json::Value| {
        json!({"kind": "dub", "source_upload_id": upload["id"], "source_language": "en",
               "target_languages": ["es"], "options": {"glossary": glossary}})
    };
    let glossary = json!([
        {"term": "show"},
        {"term": "music", "translations": {"es": "melodía"}}
    ]);
    let (s, job) = sys.post("/v1/jobs", &dub(glossary)).await?;
    assert_eq!(s, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    let done = sys.wait_for_job(&id, Duration::from_secs(240)).await?;
    assert_eq!(done["status"], "completed", "{done:#}");
    let report = &done["tasks"][0]["stats"]["glossary"];
    assert_eq!(report, &json!({"terms": 2, "missed": []}), "{done:#}");
    let (_, lines) = sys.get(&format!("/v1/jobs/{id}/tasks/es/segments")).await?;
    let text: Vec<&str> = lines["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    let text = text.join(" | ");
    assert!(text.contains("show") && text.contains("melodía"), "{text}");

    // With a pronunciation, the voice reads "chou" where the line shows
    // "show": that line's audio is made anew, the others are the same.
    let hinted = json!([
        {"term": "show", "pronunciations": {"es": "chou"}},
        {"term": "music", "translations": {"es": "melodía"}}
    ]);
    let (s, job) = sys.post("/v1/jobs", &dub(hinted)).await?;
    assert_eq!(s, 202, "{job}");
    let again = sys
        .wait_for_job(job["id"].as_str().unwrap(), Duration::from_secs(240))
        .await?;
    assert_eq!(again["status"], "completed", "{again:#}");
    let hashes = |view: &serde_json::Value| {
        let url = view["tasks"][0]["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "synthesis")
            .and_then(|a| a["download_url"].as_str())
            .unwrap()
            .to_owned();
        async move {
            let synthesis: serde_json::Value = reqwest::get(&url).await?.json().await?;
            anyhow::Ok(
                synthesis["segments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l["hash"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>(),
            )
        }
    };
    let (plain, read) = (hashes(&done).await?, hashes(&again).await?);
    let differing = plain.iter().zip(&read).filter(|(a, b)| a != b).count();
    assert_eq!(
        differing, 1,
        "only the line with the term: {plain:?} {read:?}"
    );

    let refusals = [
        (json!([{"term": " "}]), 422, "1 to 100 characters"),
        (
            json!([{"term": "show", "translations": {"xx": "espectáculo"}}]),
            422,
            "xx",
        ),
        (json!([{"term": "show", "extra": true}]), 400, "extra"),
        (
            json!([{"term": "show", "pronunciations": {"es": ""}}]),
            422,
            "pronunciation",
        ),
    ];
    for (bad, status, hint) in refusals {
        let (s, b) = sys.post("/v1/jobs", &dub(bad)).await?;
        assert_eq!(s, status, "{b}");
        let message = b["error"]["message"].as_str().unwrap();
        assert!(message.contains(hint), "{message}");
    }
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tenants_glossary_reaches_every_job_of_theirs() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    let put = |body: serde_json::Value| {
        let sys = &sys;
        async move {
            let (s, v, _) = sys
                .call(
                    reqwest::Method::PUT,
                    "/v1/glossary",
                    Some(&sys.api_key),
                    Some(&body),
                )
                .await?;
            anyhow::Ok((s, v))
        }
    };
    let (s, empty) = sys.get("/v1/glossary").await?;
    assert_eq!(s, 200, "{empty}");
    assert_eq!(empty, json!({"terms": [], "updated_at": null}));

    let terms = json!([
        {"term": "show"},
        {"term": "music", "translations": {"es": "melodía"}}
    ]);
    let (s, stored) = put(json!({ "terms": terms })).await?;
    assert_eq!(s, 200, "{stored}");
    assert_eq!(stored["terms"], terms);
    assert!(stored["updated_at"].is_string());
    let (_, read) = sys.get("/v1/glossary").await?;
    assert_eq!(read["terms"], terms);
    // Another tenant's glossary is their own.
    let other = sys.key_for("tenant-b").await?;
    let (_, theirs, _) = sys
        .call(reqwest::Method::GET, "/v1/glossary", Some(&other), None)
        .await?;
    assert_eq!(theirs["terms"], json!([]));

    // A job takes the tenant's terms under its own; or none, if it says so.
    let clip = sample_clip_saying(
        &sys.env.path("media"),
        Some("Welcome to the show. Today we talk about music. Thank you very much."),
    )?;
    let (_, upload) = sys.upload(&clip).await?;
    let dub = |options: serde_json::Value| {
        json!({"kind": "dub", "source_upload_id": upload["id"], "source_language": "en",
               "target_languages": ["es"], "options": options})
    };
    let (s, own) = sys
        .post(
            "/v1/jobs",
            &dub(json!({"glossary": [{"term": "Music", "translations": {"es": "canción"}}]})),
        )
        .await?;
    assert_eq!(s, 202, "{own}");
    assert_eq!(
        own["options"]["glossary"],
        json!([{"term": "Music", "translations": {"es": "canción"}}, {"term": "show"}])
    );
    let (_, without) = sys
        .post("/v1/jobs", &dub(json!({"tenant_glossary": false})))
        .await?;
    assert!(without["options"].get("glossary").is_none(), "{without}");

    // End to end: the tenant's terms are honoured.
    let (s, job) = sys.post("/v1/jobs", &dub(json!({}))).await?;
    assert_eq!(s, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    let done = sys.wait_for_job(&id, Duration::from_secs(240)).await?;
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(
        done["tasks"][0]["stats"]["glossary"],
        json!({"terms": 2, "missed": []}),
        "{done:#}"
    );
    let (_, lines) = sys.get(&format!("/v1/jobs/{id}/tasks/es/segments")).await?;
    let text = lines["segments"].to_string();
    assert!(text.contains("show") && text.contains("melodía"), "{text}");

    // Malformed: 422 naming the term; unknown fields: 400; clearing works.
    let (s, bad) = put(json!({"terms": [{"term": ""}]})).await?;
    assert_eq!(s, 422, "{bad}");
    assert_eq!(bad["error"]["code"], "invalid_glossary");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("terms:"),
        "{bad}"
    );
    let (s, bad) = put(json!({"terms": [], "extra": 1})).await?;
    assert_eq!(s, 400, "{bad}");
    // A full glossary is larger than other requests may be; one term more
    // is refused by count, not by size.
    let many = |n: usize| {
        let terms: Vec<serde_json::Value> = (0..n)
            .map(|i| json!({"term": format!("term {i}"), "translations": {"es": "x".repeat(150)}}))
            .collect();
        json!({ "terms": terms })
    };
    let (s, full) = put(many(500)).await?;
    assert_eq!(s, 200, "{}", full["error"]);
    let (s, over) = put(many(501)).await?;
    assert_eq!(s, 422, "{over}");
    assert!(
        over["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 500")
    );
    let (s, cleared) = put(json!({"terms": []})).await?;
    assert_eq!((s, &cleared["terms"]), (200, &json!([])));
    sys.stop().await
}
