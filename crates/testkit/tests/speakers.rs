//! Speakers, offline: a conversation of two real people (a LibriVox reader
//! and a card caller) is told apart into two speakers with at most 15 % of
//! the speech given to the wrong one, by the diarizer alone and through a
//! whole dub (whisper's lines); each speaker is dubbed in a voice of their
//! own, and the dub, told apart again, gives back the same two speakers.
//! A job may say how many speakers it has, map speakers to voices, and
//! move a line to another speaker.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use voxline_config::EngineSettings;
use voxline_core::Segment;
use voxline_core::speakers::{Turn, speaker_error};
use voxline_providers::{Engines, Unlimited};
use voxline_testkit::recordings::two_speakers;
use voxline_testkit::{TestEnv, TestSystem, demo_engines, installed_engines, spawn_system, views};

/// The target: at most this share of speech time given to the wrong speaker.
const MOST_ERROR: f64 = 0.15;

fn turns_of(lines: &[Segment]) -> Vec<Turn> {
    lines
        .iter()
        .map(|l| Turn {
            start: l.start,
            end: l.end,
            speaker: l.speaker.clone().unwrap_or_default(),
        })
        .collect()
}

#[tokio::test]
async fn two_readers_are_told_apart() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (clip, reference) = two_speakers(dir.path())?;
    let mut settings = EngineSettings::default();
    installed_engines(&mut settings);
    let engines = Engines::from_settings(&settings, &Default::default(), Arc::new(Unlimited))?;
    let diarizer = engines
        .speakers
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // The lines as a recognizer would cut them: one per turn.
    let lines: Vec<Segment> = reference
        .iter()
        .enumerate()
        .map(|(i, t)| Segment::new(i as u32 + 1, t.start, t.end, "…"))
        .collect();
    for count in [None, Some(2)] {
        let labels = diarizer.label_media(&clip, &lines, count).await?;
        let said: Vec<Segment> = lines
            .iter()
            .zip(&labels)
            .map(|(l, s)| l.clone().said_by(s))
            .collect();
        let error = speaker_error(&reference, &turns_of(&said));
        println!(
            "speakers {count:?}: {labels:?}, speaker error {:.1} %",
            error * 100.0
        );
        assert!(error <= MOST_ERROR, "{labels:?}: {error}");
        assert_eq!(labels[0], "S1");
        let mut distinct = labels.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct, ["S1", "S2"], "{labels:?}");
    }
    // One voice alone is one speaker.
    let reader: Vec<Segment> = lines
        .iter()
        .zip(&reference)
        .filter(|(_, t)| t.speaker == "reader")
        .map(|(l, _)| l.clone())
        .collect();
    let labels = diarizer.label_media(&clip, &reader, None).await?;
    assert!(labels.iter().all(|l| l == "S1"), "{labels:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dub_gives_each_speaker_a_voice_and_keeps_them_apart() -> anyhow::Result<()> {
    let mut env = TestEnv::new().await?;
    demo_engines(&mut env.settings.engines);
    let sys = spawn_system(env).await?;
    let (clip, reference) = two_speakers(&sys.env.path("media"))?;
    let (_, upload) = sys.upload(&clip).await?;
    let (s, job) = sys
        .post(
            "/v1/jobs",
            &json!({"kind": "dub", "source_upload_id": upload["id"], "source_language": "en",
                    "target_languages": ["es"]}),
        )
        .await?;
    assert_eq!(s, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    let done = sys.wait_for_job(&id, Duration::from_secs(600)).await?;
    assert_eq!(done["status"], "completed", "{done:#}");

    // The transcript: whisper's lines, each with its speaker.
    let transcript = job_artifact(&done["source_artifacts"], "transcript").await?;
    let transcript: Value = serde_json::from_str(&transcript)?;
    let lines: Vec<Segment> = serde_json::from_value(transcript["segments"].clone())?;
    let error = speaker_error(&reference, &turns_of(&lines));
    println!(
        "transcript: {} lines, speaker error {:.1} %",
        lines.len(),
        error * 100.0
    );
    assert!(error <= MOST_ERROR, "{transcript:#}");
    assert_eq!(
        transcript["speakers"],
        json!(["S1", "S2"]),
        "{transcript:#}"
    );

    // The segments say who speaks; each speaker has a voice of their own.
    let (_, view) = sys.get(&format!("/v1/jobs/{id}/tasks/es/segments")).await?;
    let segments = view["segments"].as_array().unwrap();
    assert!(
        segments.iter().all(|s| s["speaker"].is_string()),
        "{view:#}"
    );
    let synthesis: Value = serde_json::from_str(&artifact(&done, "synthesis").await?)?;
    let voice_of = |speaker: &str| -> Vec<Option<String>> {
        let mut v: Vec<Option<String>> = synthesis["segments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["speaker"] == speaker)
            .map(|l| l["voice"].as_str().map(str::to_owned))
            .collect();
        v.dedup();
        v
    };
    assert_eq!(voice_of("S1"), [None], "S1 has the default: {synthesis:#}");
    assert_eq!(
        voice_of("S2"),
        [Some("jf_alpha".to_owned())],
        "{synthesis:#}"
    );

    // The dub's voice track, told apart again: two speakers, the source's.
    let dubbed = sys.env.path("media").join("voice.m4a");
    let url = done["tasks"][0]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "voice")
        .and_then(|a| a["download_url"].as_str())
        .unwrap_or_else(|| panic!("a voice track: {done:#}"))
        .to_owned();
    std::fs::write(&dubbed, reqwest::get(&url).await?.bytes().await?)?;
    let dub_lines: Vec<Segment> = serde_json::from_value(view["segments"].clone())?;
    let mut settings = EngineSettings::default();
    installed_engines(&mut settings);
    let engines = Engines::from_settings(&settings, &Default::default(), Arc::new(Unlimited))?;
    let heard = engines
        .speakers
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .label_media(&dubbed, &dub_lines, None)
        .await?;
    let told: Vec<Segment> = dub_lines
        .iter()
        .zip(&heard)
        .map(|(l, s)| l.clone().said_by(s))
        .collect();
    let back = speaker_error(&turns_of(&dub_lines), &turns_of(&told));
    println!(
        "dub told apart again: {heard:?}, {:.1} % off the source's",
        back * 100.0
    );
    assert!(back <= MOST_ERROR, "{heard:?} against {dub_lines:?}");

    // Speakers mapped to voices, and their number given: the voices asked
    // for are the ones spoken.
    let (s, job) = sys
        .post(
            "/v1/jobs",
            &json!({"kind": "dub", "source_upload_id": upload["id"], "source_language": "en",
                    "target_languages": ["es"],
                    "options": {"speakers": 2, "voices": {"S1": "jf_nezumi", "S2": "jm_kumo"}}}),
        )
        .await?;
    assert_eq!(s, 202, "{job}");
    let mapped = sys
        .wait_for_job(job["id"].as_str().unwrap(), Duration::from_secs(600))
        .await?;
    assert_eq!(mapped["status"], "completed", "{mapped:#}");
    let synthesis: Value = serde_json::from_str(&artifact(&mapped, "synthesis").await?)?;
    for line in synthesis["segments"].as_array().unwrap() {
        let expected = if line["speaker"] == "S1" {
            "jf_nezumi"
        } else {
            "jm_kumo"
        };
        assert_eq!(line["voice"], expected, "{line}");
    }

    // A line moved to the other speaker is spoken in that one's voice.
    let first = &segments[0];
    let other = if first["speaker"] == "S1" { "S2" } else { "S1" };
    let (s, edited) = put(
        &sys,
        &format!("/v1/jobs/{id}/tasks/es/segments"),
        &json!({"segments": [{"id": first["id"], "speaker": other}]}),
    )
    .await?;
    assert_eq!(s, 202, "{edited}");
    let redone = sys.wait_for_job(&id, Duration::from_secs(600)).await?;
    assert_eq!(redone["status"], "completed", "{redone:#}");
    let (_, view) = sys.get(&format!("/v1/jobs/{id}/tasks/es/segments")).await?;
    assert_eq!(view["segments"][0]["speaker"], other, "{view:#}");
    assert_eq!(view["segments"][0]["edited"], true, "{view:#}");
    let synthesis: Value = serde_json::from_str(&artifact(&redone, "synthesis").await?)?;
    let line = &synthesis["segments"][0];
    assert_eq!(line["speaker"], other, "{line}");
    let expected = if other == "S2" {
        json!("jf_alpha")
    } else {
        Value::Null
    };
    assert_eq!(
        line.get("voice").cloned().unwrap_or(Value::Null),
        expected,
        "{line}"
    );

    // What is refused, and why.
    let refusals = [
        (json!({"speakers": 0}), "1 to 16"),
        (json!({"speakers": 17}), "1 to 16"),
        (json!({"voices": {"S 1": "jm_kumo"}}), "ASCII letters"),
        (json!({"voices": {"S2": "nobody"}}), "options.voices.S2"),
    ];
    for (options, says) in refusals {
        let (s, body) = sys
            .post(
                "/v1/jobs",
                &json!({"kind": "dub", "source_upload_id": upload["id"], "source_language": "en",
                        "target_languages": ["es"], "options": options}),
            )
            .await?;
        assert_eq!(s, 422, "{options}: {body}");
        assert!(body.to_string().contains(says), "{options}: {body}");
    }
    let (s, body) = put(
        &sys,
        &format!("/v1/jobs/{id}/tasks/es/segments"),
        &json!({"segments": [{"id": first["id"], "speaker": "no one"}]}),
    )
    .await?;
    assert_eq!(s, 422, "{body}");
    assert!(body.to_string().contains("ASCII letters"), "{body}");
    Ok(())
}

async fn put(sys: &TestSystem, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
    let (s, v, _) = sys
        .call(reqwest::Method::PUT, path, Some(&sys.api_key), Some(body))
        .await?;
    Ok((s, v))
}

async fn artifact(job: &Value, kind: &str) -> anyhow::Result<String> {
    job_artifact(&job["tasks"][0]["artifacts"], kind).await
}

async fn job_artifact(artifacts: &Value, kind: &str) -> anyhow::Result<String> {
    let artifact = artifacts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == kind)
        .unwrap_or_else(|| panic!("{kind} in {artifacts:#}"));
    views::download_text(artifact).await
}
