//! The dub's soundtrack: the dubbed voice over the background, which ducks
//! while the voice speaks (sidechain compression keyed by the voice).

use std::path::Path;

use crate::{MediaError, budget, ffmpeg, process};

/// Mixes `voice` over `background` (its first audio stream, at `gain`) into
/// `out` (WAV, or AAC for `.m4a`), stereo 48 kHz, exactly `duration` seconds.
/// Both inputs are brought to one rate and layout first: sidechaincompress
/// needs them equal.
pub async fn duck_and_mix(
    voice: &Path,
    background: &Path,
    gain: f64,
    duration: f64,
    out: &Path,
) -> Result<(), MediaError> {
    let format = "aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo";
    let graph = format!(
        "[1:a:0]{format},volume={gain:.3},apad[bg];\
         [0:a:0]{format},apad,asplit=2[voice][key];\
         [bg][key]sidechaincompress=threshold=0.015:ratio=10:attack=15:release=350:makeup=1[ducked];\
         [ducked][voice]amix=inputs=2:duration=first:normalize=0,atrim=end={duration:.3}[mix]"
    );
    let mut cmd = ffmpeg();
    cmd.arg("-i").arg(voice).arg("-i").arg(background);
    cmd.args([
        "-filter_complex",
        &graph,
        "-map",
        "[mix]",
        "-t",
        &format!("{duration:.3}"),
        "-ar",
        "48000",
    ]);
    if out.extension().is_some_and(|e| e == "m4a") {
        cmd.args(["-c:a", "aac", "-b:a", "160k"]);
    } else {
        cmd.args(["-c:a", "pcm_s16le"]);
    }
    cmd.arg(out);
    process::run(cmd, None, budget(duration)).await?;
    Ok(())
}
