//! What is inside a media file, from ffprobe.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::process::Command;

use crate::{MediaError, process};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    Audio,
    Video,
    Subtitle,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamInfo {
    pub index: u32,
    pub kind: StreamKind,
    pub codec: String,
    pub language: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub sample_rate: Option<u32>,
    pub channels: Option<u32>,
    pub duration: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaInfo {
    /// Seconds.
    pub duration: f64,
    pub format_name: String,
    pub streams: Vec<StreamInfo>,
    /// The container gave no length, so ffprobe guessed it from the bitrate
    /// (an MP3 without a Xing header, a WAV cut short).
    #[serde(default)]
    pub duration_estimated: bool,
}

impl MediaInfo {
    pub fn has_audio(&self) -> bool {
        self.streams.iter().any(|s| s.kind == StreamKind::Audio)
    }

    pub fn has_video(&self) -> bool {
        self.streams.iter().any(|s| s.kind == StreamKind::Video)
    }
}

/// Codecs of still images (and of text shown as a picture: ffprobe reads
/// any text file as "ansi" art): a "video" stream of one of these is not video.
const IMAGE_CODECS: &[&str] = &[
    "png", "mjpeg", "bmp", "gif", "webp", "tiff", "jpegls", "ansi", "bintext", "xbin", "idf",
];

/// Containers ffprobe guesses for things that are not media.
const NOT_MEDIA_FORMATS: &[&str] = &["tty", "image2", "bin", "idf", "xbin"];

/// Probes `path`. Anything that is not audio or video with a duration is
/// `NotMedia`, with ffprobe's reason.
pub async fn probe(path: &Path) -> Result<MediaInfo, MediaError> {
    let mut cmd = Command::new("ffprobe");
    cmd.args([
        // Warnings say whether the duration is a guess.
        "-v",
        "warning",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
    ])
    .arg(path);
    let out = match process::run(cmd, None, Duration::from_secs(60)).await {
        Ok(out) => out,
        Err(MediaError::Failed { stderr_tail, .. }) => {
            return Err(MediaError::NotMedia(if stderr_tail.is_empty() {
                "unrecognized format".into()
            } else {
                short(&stderr_tail)
            }));
        }
        Err(e) => return Err(e),
    };
    let raw: Raw = serde_json::from_slice(&out.stdout).map_err(|e| MediaError::BadOutput {
        program: "ffprobe".into(),
        detail: e.to_string(),
    })?;
    let streams: Vec<StreamInfo> = raw.streams.iter().map(Stream::info).collect();
    let format = raw.format.format_name.clone().unwrap_or_default();
    if NOT_MEDIA_FORMATS.contains(&format.as_str()) || format.ends_with("_pipe") {
        return Err(MediaError::NotMedia(format!(
            "a `{format}` file, not audio or video"
        )));
    }
    let images_only = !streams.is_empty()
        && streams.iter().all(|s| {
            s.kind != StreamKind::Audio
                && (s.kind != StreamKind::Video || IMAGE_CODECS.contains(&s.codec.as_str()))
        });
    if images_only {
        return Err(MediaError::NotMedia("an image, not audio or video".into()));
    }
    if !streams
        .iter()
        .any(|s| matches!(s.kind, StreamKind::Audio | StreamKind::Video))
    {
        return Err(MediaError::NotMedia("no audio or video stream".into()));
    }
    let duration = raw
        .format
        .duration
        .as_deref()
        .and_then(|d| d.parse::<f64>().ok())
        .or_else(|| streams.iter().filter_map(|s| s.duration).reduce(f64::max))
        .filter(|d| d.is_finite() && *d > 0.0)
        .ok_or_else(|| MediaError::NotMedia("the media has no duration".into()))?;
    Ok(MediaInfo {
        duration,
        format_name: raw.format.format_name.unwrap_or_default(),
        streams,
        duration_estimated: String::from_utf8_lossy(&out.stderr)
            .contains("Estimating duration from bitrate"),
    })
}

fn short(text: &str) -> String {
    // ffprobe prefixes its messages with the file's path; the path says nothing to the caller.
    let reason = text.rsplit(": ").next().unwrap_or(text).trim();
    reason.chars().take(200).collect()
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    streams: Vec<Stream>,
    #[serde(default)]
    format: Format,
}

#[derive(Deserialize, Default)]
struct Format {
    duration: Option<String>,
    format_name: Option<String>,
}

#[derive(Deserialize)]
struct Stream {
    index: u32,
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    sample_rate: Option<String>,
    channels: Option<u32>,
    duration: Option<String>,
    #[serde(default)]
    tags: std::collections::HashMap<String, String>,
}

impl Stream {
    fn info(&self) -> StreamInfo {
        StreamInfo {
            index: self.index,
            kind: match self.codec_type.as_deref() {
                Some("audio") => StreamKind::Audio,
                Some("video") => StreamKind::Video,
                Some("subtitle") => StreamKind::Subtitle,
                _ => StreamKind::Other,
            },
            codec: self.codec_name.clone().unwrap_or_default(),
            language: self.tags.get("language").cloned(),
            width: self.width,
            height: self.height,
            sample_rate: self.sample_rate.as_deref().and_then(|s| s.parse().ok()),
            channels: self.channels,
            duration: self.duration.as_deref().and_then(|d| d.parse().ok()),
        }
    }
}
