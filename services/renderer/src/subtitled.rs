//! Rendering a subtitle job: the translated lines as SRT and WebVTT, and the
//! source media with them as a soft track or burned into the picture.

use voxline_core::{SubtitleMode, Translation};
use voxline_db::runs::Completion;
use voxline_media::{mux, probe, subtitles};
use voxline_worker::{StageContext, StageError};

use crate::dub::lang;

pub async fn render(ctx: &StageContext) -> Result<Completion, StageError> {
    let job = ctx.job();
    let language = lang(ctx.language())?;
    let translation: Translation = ctx.lines().await?;
    // The language spoken, as transcribed (the job may say `auto`).
    let source_language = lang(&translation.source_language)?;
    let cues = if job.options.speaker_labels {
        subtitles::cues(&subtitles::speaker_prefixed(&translation.segments), None)
    } else {
        subtitles::cues(&translation.segments, None)
    };
    let srt_text = subtitles::srt(&cues);
    let mut artifacts = vec![
        ctx.put_bytes(
            "subtitles_srt",
            "subtitles.srt",
            "application/x-subrip",
            srt_text.clone().into_bytes(),
        )
        .await?,
        ctx.put_bytes(
            "subtitles_vtt",
            "subtitles.vtt",
            "text/vtt",
            subtitles::vtt(&cues).into_bytes(),
        )
        .await?,
    ];
    let mode = job.options.subtitles;
    if mode != SubtitleMode::None && !translation.segments.is_empty() {
        let source = ctx.fetch_upload(job.source_upload_id, "source").await?;
        let info = probe::probe(&source).await?;
        if info.has_video() {
            let srt = ctx.scratch("subtitles.srt");
            tokio::fs::write(&srt, &srt_text)
                .await
                .map_err(|e| StageError::transient("io_error", e.to_string()))?;
            let out = ctx.scratch("subtitled.mp4");
            ctx.progress(0.3, "muxing subtitles").await;
            mux::mux(mux::MuxRequest {
                source: &source,
                dub_audio: &source,
                dub_language: &source_language,
                original_language: None,
                subtitles: Some((srt.as_path(), &language)),
                burn_subtitles: mode == SubtitleMode::Burned,
                out: &out,
            })
            .await?;
            artifacts.push(
                ctx.put_file("subtitled", "subtitled.mp4", "video/mp4", &out)
                    .await?,
            );
        }
    }
    Ok(Completion {
        output: serde_json::json!({
            "lines": translation.segments.len(),
            "subtitles": subtitles::breaches(&cues),
            "glossary": crate::dub::glossary_report(&job.options.glossary, &translation),
        }),
        engine: Some("ffmpeg".into()),
        artifacts,
        ..Default::default()
    })
}
