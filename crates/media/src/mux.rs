//! The dubbed media file: the source's video (copied, or re-encoded with
//! burned-in subtitles), the dub as the first audio track, the original as
//! the second, and soft subtitles, each tagged with its language.

use std::path::Path;

use voxline_core::Language;

use crate::{MediaError, budget, ffmpeg, probe, process};

pub struct MuxRequest<'a> {
    /// The original media (video, or audio only).
    pub source: &'a Path,
    /// The new first audio track (its first audio stream is used).
    pub dub_audio: &'a Path,
    pub dub_language: &'a Language,
    /// Keep the source's first audio stream as a second track, tagged with this language.
    pub original_language: Option<&'a Language>,
    /// SRT subtitles and their language.
    pub subtitles: Option<(&'a Path, &'a Language)>,
    pub burn_subtitles: bool,
    /// `.mp4` for video sources, `.m4a` for audio-only ones.
    pub out: &'a Path,
}

pub async fn mux(req: MuxRequest<'_>) -> Result<(), MediaError> {
    let info = probe::probe(req.source).await?;
    let video = info.has_video();
    let mut cmd = ffmpeg();
    cmd.arg("-i").arg(req.source).arg("-i").arg(req.dub_audio);
    let soft_subtitles = match req.subtitles {
        Some((srt, _)) if video && !req.burn_subtitles => {
            cmd.arg("-i").arg(srt);
            true
        }
        _ => false,
    };
    if video {
        cmd.args(["-map", "0:v:0"]);
    }
    cmd.args(["-map", "1:a:0"]);
    if req.original_language.is_some() && info.has_audio() {
        cmd.args(["-map", "0:a:0"]);
    }
    if soft_subtitles {
        cmd.args(["-map", "2:0"]);
    }
    match (video, req.subtitles) {
        (true, Some((srt, _))) if req.burn_subtitles => {
            cmd.arg("-vf")
                .arg(format!("subtitles=filename='{}'", escape_filter_path(srt)));
            cmd.args([
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "21", "-pix_fmt", "yuv420p",
            ]);
        }
        (true, _) => {
            cmd.args(["-c:v", "copy"]);
        }
        _ => {}
    }
    cmd.args(["-c:a", "aac", "-b:a", "160k", "-ar", "48000"]);
    cmd.args([
        "-metadata:s:a:0",
        &format!("language={}", req.dub_language.iso639_2),
        "-disposition:a:0",
        "default",
    ]);
    if let Some(original) = req.original_language.filter(|_| info.has_audio()) {
        cmd.args([
            "-metadata:s:a:1",
            &format!("language={}", original.iso639_2),
            "-disposition:a:1",
            "0",
        ]);
    }
    if soft_subtitles {
        let (_, language) = req.subtitles.expect("soft subtitles are present");
        cmd.args([
            "-c:s",
            "mov_text",
            "-metadata:s:s:0",
            &format!("language={}", language.iso639_2),
        ]);
    }
    cmd.args(["-movflags", "+faststart"]).arg(req.out);
    process::run(
        cmd,
        None,
        budget(info.duration * if req.burn_subtitles { 3.0 } else { 1.0 }),
    )
    .await?;
    Ok(())
}

/// Escapes a path for use inside a quoted filtergraph option.
fn escape_filter_path(path: &Path) -> String {
    path.display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('\'', "'\\''")
        .replace(':', "\\:")
}
