//! Jobs given their lines: a dub from a transcript of the client's own
//! (nothing transcribed, the given lines translated and spoken), and
//! voiceovers, a script spoken over a video in its own language and
//! another, over a video without sound and over one whose sound is kept
//! under the voice.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use voxline_media::{loudness, probe};
use voxline_testkit::{TestEnv, TestSystem, sample_clip, spawn_system, views};

async fn create(sys: &TestSystem, body: Value) -> anyhow::Result<String> {
    let (s, job) = sys.post("/v1/jobs", &body).await?;
    anyhow::ensure!(s == 202, "job creation: {s} {job:#}");
    Ok(job["id"].as_str().unwrap().to_owned())
}

async fn finished(sys: &TestSystem, id: &str) -> anyhow::Result<Value> {
    let done = sys.wait_for_job(id, Duration::from_secs(600)).await?;
    anyhow::ensure!(done["status"] == "completed", "{done:#}");
    Ok(done)
}

fn source_artifact<'a>(job: &'a Value, kind: &str) -> &'a Value {
    job["source_artifacts"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["kind"] == kind))
        .unwrap_or_else(|| panic!("no `{kind}` among the job's files: {job:#}"))
}

fn task<'a>(job: &'a Value, language: &str) -> &'a Value {
    job["tasks"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["language"] == language))
        .unwrap_or_else(|| panic!("no `{language}` task in {job:#}"))
}

async fn download(artifact: &Value, to: &Path) -> anyhow::Result<()> {
    let url = artifact["download_url"].as_str().unwrap();
    let bytes = reqwest::get(url).await?.error_for_status()?.bytes().await?;
    std::fs::write(to, bytes)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dub_from_a_transcript_of_ones_own_says_its_lines() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    let clip = sample_clip(&sys.env.path("media"))?;
    let (_, upload) = sys.upload(&clip).await?;
    // Lines the narration does not say: what is dubbed is what was given.
    let srt = "1\n00:00:00,200 --> 00:00:01,400\n<i>The red house</i> is big.\n\n\
               2\n00:00:01,500 --> 00:00:02,800\nThe cat sleeps.\n";
    let id = create(
        &sys,
        json!({"kind": "dub", "source_upload_id": upload["id"], "source_language": "en",
               "target_languages": ["es"], "script": {"text": srt}}),
    )
    .await?;
    // A subtitle job takes the same lines as its transcript too.
    let subtitled = create(
        &sys,
        json!({"kind": "subtitle", "source_upload_id": upload["id"], "source_language": "en",
               "target_languages": ["es"], "script": {"text": srt, "format": "srt"}}),
    )
    .await?;
    let done = finished(&sys, &id).await?;

    let transcript: Value =
        serde_json::from_str(&views::download_text(source_artifact(&done, "transcript")).await?)?;
    assert_eq!(transcript["engine"], "script (srt)", "{transcript:#}");
    let lines: Vec<&str> = transcript["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert_eq!(lines, ["The red house is big.", "The cat sleeps."]);
    // Nothing was heard: no engine was paid to transcribe.
    let es = task(&done, "es");
    assert_eq!(
        views::stage(es, "transcribe")["engine"],
        "script (srt)",
        "{es:#}"
    );
    let (_, usage) = sys.get("/v1/usage?group_by=stage").await?;
    assert!(
        !usage["totals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["key"] == "transcribe"),
        "a script is not transcribed: {usage:#}"
    );
    // The given lines, translated and spoken.
    let translation: Value =
        serde_json::from_str(&views::download_text(views::artifact(es, "translation")).await?)?;
    let said = translation["segments"].to_string().to_lowercase();
    assert!(
        said.contains("casa") && said.contains("gato"),
        "{translation:#}"
    );
    let subtitles = views::download_text(views::artifact(es, "subtitles_vtt")).await?;
    assert!(subtitles.to_lowercase().contains("gato"), "{subtitles}");

    let done = finished(&sys, &subtitled).await?;
    let es = task(&done, "es");
    assert_eq!(views::stage(es, "transcribe")["engine"], "script (srt)");
    let subtitles = views::download_text(views::artifact(es, "subtitles_vtt")).await?;
    assert!(
        subtitles.to_lowercase().contains("casa") && subtitles.to_lowercase().contains("gato"),
        "{subtitles}"
    );
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_voiceover_speaks_its_script_over_a_video_with_or_without_sound() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    let dir = sys.env.path("media");
    std::fs::create_dir_all(&dir)?;
    let silent = dir.join("silent.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=320x240:rate=25:duration=6")
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(&silent)
        .status()?;
    anyhow::ensure!(made.success(), "ffmpeg could not make the silent video");
    let (s, silent_upload) = sys.upload(&silent).await?;
    assert_eq!(
        s, 201,
        "a picture without sound is an upload: {silent_upload}"
    );
    let clip = sample_clip(&dir)?;
    let (_, clip_upload) = sys.upload(&clip).await?;

    let script = "0:00.5 Welcome to the workshop.\n0:03-0:05.5 Today we build a bench.\n";
    let over_silence = create(
        &sys,
        json!({"kind": "voiceover", "source_upload_id": silent_upload["id"],
               "source_language": "en", "target_languages": ["en", "es"],
               "script": {"text": script, "format": "text"}}),
    )
    .await?;
    let over_sound = create(
        &sys,
        json!({"kind": "voiceover", "source_upload_id": clip_upload["id"],
               "source_language": "en", "target_languages": ["es"],
               "script": {"text": "0:00.2 The workshop is open."}}),
    )
    .await?;

    let done = finished(&sys, &over_silence).await?;
    // In its own language, the script is said as written.
    let en = task(&done, "en");
    let translation: Value =
        serde_json::from_str(&views::download_text(views::artifact(en, "translation")).await?)?;
    assert_eq!(translation["engine"], "none", "{translation:#}");
    assert_eq!(
        translation["segments"][1]["text"],
        "Today we build a bench."
    );
    for language in ["en", "es"] {
        let t = task(&done, language);
        assert_eq!(t["stats"]["background"]["used"], "none", "{t:#}");
        let out = dir.join(format!("voiceover-{language}.mp4"));
        download(views::artifact(t, "dub"), &out).await?;
        let info = probe::probe(&out).await?;
        assert!(info.has_video() && info.has_audio(), "{info:?}");
        assert!((info.duration - 6.0).abs() < 0.3, "{info:?}");
        // Brought to the level streamed speech is played at (-16 LUFS),
        // its peaks limited.
        let level = loudness::measure(&out, info.duration).await?;
        println!(
            "{language} voiceover: {:.1} LUFS, peak {:.1} dBFS",
            level.integrated_lufs, level.sample_peak_dbfs
        );
        assert!(
            (level.integrated_lufs + 16.0).abs() < 1.5 && level.sample_peak_dbfs <= -1.0,
            "{language}: {level:?}"
        );
    }

    let done = finished(&sys, &over_sound).await?;
    let es = task(&done, "es");
    // The source's own sound stays under the voice: nothing was separated.
    assert_eq!(es["stats"]["background"]["used"], "original", "{es:#}");
    let transcript: Value =
        serde_json::from_str(&views::download_text(source_artifact(&done, "transcript")).await?)?;
    assert_eq!(transcript["engine"], "script (text)");
    assert!(transcript.get("stems").is_none(), "{transcript:#}");
    assert!(
        transcript["speakers_note"]
            .as_str()
            .is_some_and(|n| n.contains("voiceover")),
        "{transcript:#}"
    );
    sys.stop().await
}
