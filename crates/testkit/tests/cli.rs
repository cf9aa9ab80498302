//! The `voxline` command as a person uses it: dub a file into a folder,
//! list and inspect jobs, with the server and key from the environment.

use std::ffi::{OsStr, OsString};
use std::process::Command;

use voxline_testkit::{
    TestEnv, TestSystem, binary, ffprobe_json, sample_clip, spawn_system, stream_count,
};

/// Runs `voxline ARGS` against `sys` with its API key (or none), as a
/// person would with the server and key in the environment.
async fn voxline(
    sys: &TestSystem,
    args: Vec<OsString>,
    with_key: bool,
) -> anyhow::Result<std::process::Output> {
    let mut cmd = Command::new(binary("voxline"));
    cmd.args(args).env("VOXLINE_SERVER", &sys.base);
    if with_key {
        cmd.env("VOXLINE_API_KEY", &sys.api_key);
    } else {
        cmd.env_remove("VOXLINE_API_KEY");
    }
    Ok(tokio::task::spawn_blocking(move || cmd.output()).await??)
}

/// The words of a command line.
fn words(parts: &[&dyn AsRef<OsStr>]) -> Vec<OsString> {
    parts.iter().map(|p| p.as_ref().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn voxline_dub_downloads_every_result() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    let media = sys.env.path("media");
    let clip = sample_clip(&media)?;
    let out = sys.env.path("out");
    let background = media.join("background.wav");
    let output = voxline(
        &sys,
        words(&[
            &"dub",
            &clip,
            &"--to",
            &"es",
            &"--background",
            &background,
            &"--out",
            &out,
        ]),
        true,
    )
    .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "voxline dub failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dub = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.ends_with("es/dub.mp4"))
        .expect("the dub is listed");
    let probe = ffprobe_json(std::path::Path::new(dub))?;
    assert_eq!(stream_count(&probe, "audio"), 2);
    for file in [
        "en/transcript.json",
        "en/transcript.srt",
        "es/subtitles.srt",
        "es/subtitles.vtt",
        "es/voice.m4a",
    ] {
        assert!(stdout.contains(file), "{file} is downloaded:\n{stdout}");
    }
    // Its quality report, a line per language.
    let quality = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("es: "))
        .expect("a quality line for Spanish");
    assert!(
        quality.contains("subtitle cues outside the norms")
            && quality.contains("LUFS (source")
            && quality.contains("over the uploaded background"),
        "{quality}"
    );

    let list = voxline(&sys, words(&[&"jobs", &"list"]), true).await?;
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.status.success() && listed.contains("completed") && listed.contains("en -> es"),
        "{listed}"
    );

    // Without a key it says how to get one.
    let no_key = voxline(&sys, words(&[&"jobs", &"list"]), false).await?;
    assert!(!no_key.status.success());
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("voxline keys create"));
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn voxline_dub_speaks_a_script_over_a_video() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    let media = sys.env.path("media");
    let clip = sample_clip(&media)?;
    let script = media.join("narration.vtt");
    std::fs::write(
        &script,
        "WEBVTT\n\n00:00.300 --> 00:02.000\n<v Host>Welcome to the show.\n",
    )?;
    let out = sys.env.path("out");
    let output = voxline(
        &sys,
        words(&[
            &"dub",
            &clip,
            &"--voiceover",
            &"--to",
            &"en,es",
            &"--script",
            &script,
            &"--out",
            &out,
        ]),
        true,
    )
    .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "voxline dub --voiceover failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for file in ["en/dub.mp4", "es/dub.mp4", "en/transcript.json"] {
        assert!(stdout.contains(file), "{file} is downloaded:\n{stdout}");
    }
    let transcript = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.ends_with("en/transcript.json"))
        .expect("the transcript is listed");
    let transcript: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(transcript)?)?;
    assert_eq!(transcript["engine"], "script (vtt)");
    assert_eq!(transcript["segments"][0]["speaker"], "Host");
    let quality = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("en: "))
        .expect("a quality line for English");
    assert!(quality.ends_with("over the lowered original"), "{quality}");
    sys.stop().await
}
