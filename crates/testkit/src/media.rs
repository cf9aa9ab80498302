use std::path::{Path, PathBuf};

/// Generates the sample clip (scripts/sample-clip.sh) into `dir`; returns
/// the clip's path. `background.wav` and `narration.txt` land beside it.
pub fn sample_clip(dir: &Path) -> anyhow::Result<PathBuf> {
    sample_clip_saying(dir, None)
}

/// The sample clip with another narration (a short one makes a short clip).
pub fn sample_clip_saying(dir: &Path, narration: Option<&str>) -> anyhow::Result<PathBuf> {
    sample_clip_in(dir, narration, "en-us+f2", "eng")
}

/// The sample clip narrated by espeak-ng's `voice`, its audio tagged with
/// the ISO 639-2 `language`.
pub fn sample_clip_in(
    dir: &Path,
    narration: Option<&str>,
    voice: &str,
    language: &str,
) -> anyhow::Result<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/sample-clip.sh");
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(script)
        .arg(dir)
        .env("VOXLINE_SAMPLE_VOICE", voice)
        .env("VOXLINE_SAMPLE_LANG", language)
        .stdout(std::process::Stdio::null());
    if let Some(text) = narration {
        cmd.env("VOXLINE_SAMPLE_TEXT", text);
    }
    anyhow::ensure!(cmd.status()?.success(), "sample-clip.sh failed");
    Ok(dir.join("clip.mp4"))
}

/// A whisper model `scripts/setup.sh` made under target/models.
pub fn whisper_model(name: &str) -> PathBuf {
    installed(&format!("target/models/{name}"))
}

/// A file `scripts/setup.sh` installed inside the repository (`path` is
/// relative to its root).
pub fn installed(path: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh (make test does)",
        path.display()
    );
    path
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
