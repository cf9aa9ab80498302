use std::path::{Path, PathBuf};

/// Generates the sample clip (scripts/sample-clip.sh) into `dir`; returns
/// the clip's path. `background.wav` and `narration.txt` land beside it.
pub fn sample_clip(dir: &Path) -> anyhow::Result<PathBuf> {
    sample_clip_saying(dir, None)
}

/// The sample clip with another narration (a short one makes a short clip).
pub fn sample_clip_saying(dir: &Path, narration: Option<&str>) -> anyhow::Result<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/sample-clip.sh");
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(script).arg(dir).stdout(std::process::Stdio::null());
    if let Some(text) = narration {
        cmd.env("VOXLINE_SAMPLE_TEXT", text);
    }
    anyhow::ensure!(cmd.status()?.success(), "sample-clip.sh failed");
    Ok(dir.join("clip.mp4"))
}

/// ffprobe's JSON description (streams and format) of a media file.
pub fn ffprobe_json(path: &Path) -> anyhow::Result<serde_json::Value> {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
        ])
        .arg(path)
        .output()?;
    anyhow::ensure!(out.status.success(), "ffprobe failed on {}", path.display());
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// How many streams of `kind` (`audio`, `video`, `subtitle`) an ffprobe description lists.
pub fn stream_count(probe: &serde_json::Value, kind: &str) -> usize {
    probe["streams"]
        .as_array()
        .map_or(0, |s| s.iter().filter(|s| s["codec_type"] == kind).count())
}

/// A binary of this workspace, built beside the running test (`make test`
/// builds them all first).
pub fn binary(name: &str) -> PathBuf {
    // target/debug/deps/TEST-HASH -> target/debug/NAME
    let exe = std::env::current_exe().expect("the test's own path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("a target folder")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` (make test does)",
        path.display()
    );
    path
}
