//! The transcriber service: turns the source's speech into timed lines
//! (the transcript, as JSON, SRT and WebVTT) once per job.

use std::sync::Arc;

use voxline_config::Settings;
use voxline_core::{Language, Stage};
use voxline_db::runs::Completion;
use voxline_media::subtitles;
use voxline_providers::Engines;
use voxline_worker::{StageContext, StageError, StageHandler};

pub struct Transcribe {
    engines: Arc<Engines>,
}

impl Transcribe {
    pub fn new(engines: Arc<Engines>) -> Self {
        Self { engines }
    }
}

#[async_trait::async_trait]
impl StageHandler for Transcribe {
    fn stage(&self) -> Stage {
        Stage::Transcribe
    }

    async fn run(&self, ctx: &StageContext) -> Result<Completion, StageError> {
        let job = ctx.job();
        let source = ctx.fetch_upload(job.source_upload_id, "source").await?;
        let language = match job.source_language.as_str() {
            "auto" => None,
            code => Some(
                Language::parse(code)
                    .map_err(|e| StageError::bad_input("unknown_language", e.to_string()))?,
            ),
        };
        ctx.progress(0.1, "recognizing speech").await;
        let (transcript, engine) = self
            .engines
            .transcribe(&source, language.as_ref(), job.duration, &ctx.calls)
            .await?;
        let cues = subtitles::cues(&transcript.segments, Some(job.duration));
        let artifacts = vec![
            ctx.put_bytes(
                "transcript",
                "transcript.json",
                "application/json",
                serde_json::to_vec_pretty(&transcript)?,
            )
            .await?,
            ctx.put_bytes(
                "transcript_srt",
                "transcript.srt",
                "application/x-subrip",
                subtitles::srt(&cues).into_bytes(),
            )
            .await?,
            ctx.put_bytes(
                "transcript_vtt",
                "transcript.vtt",
                "text/vtt",
                subtitles::vtt(&cues).into_bytes(),
            )
            .await?,
        ];
        tracing::info!(segments = transcript.segments.len(), engine = %engine, "transcribed");
        Ok(Completion {
            output: serde_json::json!({
                "segments": transcript.segments.len(),
                "language": transcript.language,
                "note": transcript.note,
            }),
            engine: Some(engine),
            artifacts,
            note: transcript.note.clone(),
            ..Default::default()
        })
    }
}

/// Runs the transcriber until SIGTERM.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let handler = Arc::new(Transcribe::new(Arc::new(
        voxline_worker::engines(&settings).await?,
    )));
    voxline_worker::run_service(settings, "transcriber", handler).await?;
    Ok(())
}
