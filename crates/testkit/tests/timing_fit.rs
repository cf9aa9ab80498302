//! Timing fit with a translator that can shorten lines: a dubbed line too
//! long for its slot even at the fastest tempo is said again in fewer words
//! (asked of the LLM translator, here a local fake of OpenAI's chat API),
//! spoken again, subtitled as spoken, and counted in the task's stretch
//! figures; no line is ever dropped, and words the user wrote are never
//! shortened.

use std::time::Duration;

use voxline_config::VendorLimits;
use voxline_testkit::vendors::FakeOpenAi;
use voxline_testkit::views::{artifact, download_text};
use voxline_testkit::{TestEnv, sample_clip, spawn_system};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lines_too_long_for_their_slot_are_shortened_not_dropped() -> anyhow::Result<()> {
    let openai = FakeOpenAi::start().await;
    let mut env = TestEnv::new().await?;
    let limits = VendorLimits {
        timeout_seconds: 5,
        ..Default::default()
    };
    env.settings
        .vendors
        .insert("openai".into(), openai.settings(limits));
    env.settings.engines.translate = vec!["openai".into()];
    // A slow voice: every line runs past its slot even at 1.3×.
    env.settings.engines.espeak_rate = 70;
    let sys = spawn_system(env).await?;
    let clip = sample_clip(&sys.env.path("media"))?;
    let job = sys.dub(&clip, &["es"]).await?;
    let id = job["id"].as_str().unwrap();
    let done = sys.wait_for_job(id, Duration::from_secs(180)).await?;
    assert_eq!(done["status"], "completed", "{done:#}");

    let task = &done["tasks"][0];
    let stretch = &task["stats"]["stretch"];
    let lines = stretch["lines"].as_u64().unwrap();
    let shortened = stretch["shortened"].as_u64().unwrap();
    assert!(lines >= 3, "{stretch}");
    assert!(shortened >= 1, "{stretch}");
    // The shortening asks went to the chat model, with structured output.
    let asks: Vec<_> = openai
        .script
        .seen()
        .into_iter()
        .filter(|s| s.body["schema"] == "shortened_lines")
        .collect();
    assert!(asks.len() as u64 >= shortened, "{asks:?}");
    assert!(asks[0].body["system"].as_str().unwrap().contains("at most"));
    assert_eq!(openai.script.problems(), Vec::<String>::new());
    let usage = done["usage"].as_array().unwrap();
    assert!(
        usage
            .iter()
            .any(|u| u["engine"] == "openai" && u["stage"] == "synthesize"),
        "the shortening calls are usage of the synthesize stage: {usage:#?}"
    );

    // Every line is still subtitled, the shortened ones as spoken.
    let (_, segments) = sys.get(&format!("/v1/jobs/{id}/tasks/es/segments")).await?;
    // Long cues wrap onto two lines: read them as one.
    let text = download_text(artifact(task, "subtitles_vtt"))
        .await?
        .replace('\n', " ");
    let cues = text.matches(" --> ").count() as u64;
    assert_eq!(cues, lines, "{text}");
    let whole = segments["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| text.contains(s["text"].as_str().unwrap()))
        .count() as u64;
    assert_eq!(whole, lines - shortened, "{text}\n{segments:#}");

    // Words the user writes are spoken as written, however long.
    let mine = "Gracias por escuchar este programa tan largo y tan bonito de hoy.";
    let edit = serde_json::json!({"segments": [{"id": 1, "text": mine}]});
    let (s, answer, _) = sys
        .call(
            reqwest::Method::PUT,
            &format!("/v1/jobs/{id}/tasks/es/segments"),
            Some(&sys.api_key),
            Some(&edit),
        )
        .await?;
    assert_eq!(s, 202, "{answer}");
    let done = sys.wait_for_job(id, Duration::from_secs(180)).await?;
    assert_eq!(done["status"], "completed", "{done:#}");
    let text = download_text(artifact(&done["tasks"][0], "subtitles_vtt")).await?;
    // (long cues wrap onto two lines)
    assert!(text.replace('\n', " ").contains(mine), "{text}");
    sys.stop().await
}
