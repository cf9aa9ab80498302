//! Media work through ffmpeg and ffprobe: probing, audio extraction, the
//! timing fit of dubbed lines, mixing, subtitles and muxing. Every external
//! program runs through `process::run`, with a timeout and killed on drop.

mod error;
pub mod process;

pub use error::MediaError;
