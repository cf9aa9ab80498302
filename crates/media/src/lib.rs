//! Media work through ffmpeg and ffprobe: probing, audio extraction, the
//! timing fit of dubbed lines, mixing, subtitles and muxing. Every external
//! program runs through `process::run`, with a timeout and killed on drop.

pub mod audio;
mod error;
pub mod integrity;
pub mod loudness;
pub mod mix;
pub mod mux;
pub mod probe;
pub mod process;
pub mod stream;
pub mod subtitles;
pub mod timeline;

pub use error::MediaError;
pub use probe::{MediaInfo, StreamInfo, StreamKind};

use std::time::Duration;

/// A generous time limit for an ffmpeg run over `seconds` of media.
pub(crate) fn budget(seconds: f64) -> Duration {
    Duration::from_secs_f64(60.0 + 4.0 * seconds.max(0.0))
}

/// An ffmpeg command that never prompts and only reports errors.
pub(crate) fn ffmpeg() -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("ffmpeg");
    cmd.args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"]);
    cmd
}
