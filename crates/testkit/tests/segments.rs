//! Segment editing end to end: a finished Spanish dub's lines are read,
//! one is rewritten, and only that line is spoken again while the dub is
//! rendered and published anew; the new subtitles say the new words. Bad
//! edits get 4xx answers that say what to fix, and nothing else changes.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use voxline_testkit::views::{artifact, download_text};
use voxline_testkit::{TestEnv, sample_clip, spawn_system};

const NEW_LINE: &str = "Hoy hablamos de música y de libros.";

/// (calls, characters) of every synthesize usage row, oldest first.
fn synthesize_calls(job: &Value) -> Vec<(i64, f64)> {
    job["usage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["stage"] == "synthesize" && u["unit"] == "characters")
        .map(|u| (u["calls"].as_i64().unwrap(), u["units"].as_f64().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_edited_line_is_spoken_again_and_the_dub_rendered_anew() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    let clip = sample_clip(&sys.env.path("media"))?;
    let job = sys.dub(&clip, &["es"]).await?;
    let id = job["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/jobs/{id}/tasks/es/segments");

    // While the job runs, the lines may not be there yet and may not be edited.
    let (s, early, _) = sys
        .call(
            Method::PUT,
            &path,
            Some(&sys.api_key),
            Some(&json!({"segments": [{"id": 1, "text": "Hola."}]})),
        )
        .await?;
    assert!(matches!(s, 409 | 422), "{s} {early}");

    let done = sys.wait_for_job(&id, Duration::from_secs(120)).await?;
    assert_eq!(done["status"], "completed", "{done:#}");
    let (s, before) = sys.get(&path).await?;
    assert_eq!(s, 200, "{before}");
    let lines = before["segments"].as_array().unwrap().clone();
    assert_eq!(lines.len(), 4, "{before:#}");
    assert_eq!(
        (
            before["language"].as_str(),
            before["source_language"].as_str()
        ),
        (Some("es"), Some("en"))
    );
    assert!(
        lines
            .iter()
            .all(|l| l["edited"] == false && l["source_text"].is_string())
    );
    assert_eq!(synthesize_calls(&done).len(), 1);
    assert_eq!(synthesize_calls(&done)[0].0, 4, "four lines spoken");

    // Bad edits: each says what is wrong, and nothing is re-run.
    for (body, status, says) in [
        (json!({"segments": []}), 422, "at least one line"),
        (
            json!({"segments": [{"id": 9, "text": "Hola."}]}),
            422,
            "1, 2, 3, 4",
        ),
        (
            json!({"segments": [{"id": 2, "text": "   "}]}),
            422,
            "empty",
        ),
        (json!({"segments": [{"id": 2}]}), 422, "give a new"),
        (
            json!({"segments": [{"id": 2, "text": "a"}, {"id": 2, "text": "b"}]}),
            422,
            "twice",
        ),
        (
            json!({"segments": [{"id": 2, "end": 999.0}]}),
            422,
            "outside the source",
        ),
        (
            json!({"segments": [{"id": 2, "start": lines[0]["start"]}]}),
            422,
            "overlap",
        ),
        (json!({"segments": [{"id": 2, "txt": "typo"}]}), 400, "txt"),
        (
            json!({"segments": [{"id": 2, "text": "a\u{0}b"}]}),
            422,
            "control",
        ),
    ] {
        let (s, answer, _) = sys
            .call(Method::PUT, &path, Some(&sys.api_key), Some(&body))
            .await?;
        assert_eq!(s, status, "{body} -> {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{body} -> {message}");
    }
    let other = sys.key_for("tenant-b").await?;
    let (s, _, _) = sys.call(Method::GET, &path, Some(&other), None).await?;
    assert_eq!(s, 404, "another tenant's job is not found");
    let (s, _) = sys.get(&format!("/v1/jobs/{id}/tasks/fr/segments")).await?;
    assert_eq!(s, 404, "no French task");

    // The edit: line 2 says something else.
    let edit = json!({"segments": [{"id": 2, "text": NEW_LINE}]});
    let (s, running, _) = sys
        .call(Method::PUT, &path, Some(&sys.api_key), Some(&edit))
        .await?;
    assert_eq!(s, 202, "{running}");
    assert_ne!(running["status"], "completed", "{running:#}");
    let (s, busy, _) = sys
        .call(
            Method::PUT,
            &path,
            Some(&sys.api_key),
            Some(&json!({"segments": [{"id": 3, "text": "Leo libros."}]})),
        )
        .await?;
    if s != 202 {
        assert_eq!(
            (s, busy["error"]["code"].as_str()),
            (409, Some("task_busy")),
            "{busy}"
        );
    }
    let done = sys.wait_for_job(&id, Duration::from_secs(120)).await?;
    assert_eq!(done["status"], "completed", "{done:#}");

    let (_, after) = sys.get(&path).await?;
    let line2 = &after["segments"][1];
    assert_eq!(
        (line2["text"].as_str(), line2["edited"].as_bool()),
        (Some(NEW_LINE), Some(true))
    );
    assert_eq!(after["segments"][0]["text"], lines[0]["text"]);
    assert_eq!(after["segments"][0]["edited"], false);

    // Only the edited line was spoken again.
    let calls = synthesize_calls(&done);
    assert_eq!(calls[0].0, 4);
    assert!(calls.len() >= 2, "{calls:?}");
    assert_eq!(calls[1], (1, NEW_LINE.chars().count() as f64), "{calls:?}");

    // The new subtitles say the new words; the dub is there to download.
    let task = &done["tasks"][0];
    let text = download_text(artifact(task, "subtitles_vtt")).await?;
    assert!(text.contains(NEW_LINE), "{text}");
    assert!(!text.contains(lines[1]["text"].as_str().unwrap()), "{text}");
    artifact(task, "dub");

    // The same text again changes nothing and starts nothing.
    let (s, same, _) = sys
        .call(Method::PUT, &path, Some(&sys.api_key), Some(&edit))
        .await?;
    assert_eq!(s, 200, "{same}");
    assert_eq!(same["status"], "completed");
    sys.stop().await
}
