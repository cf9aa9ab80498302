//! The renderer service: fits each dubbed line into its time slot, lays the
//! lines on the source's timeline, mixes them over the ducked background,
//! and muxes the dubbed media with subtitles (SRT and WebVTT beside it).

mod dub;
mod subtitled;

use std::sync::Arc;

use voxline_config::{EngineSettings, Settings};
use voxline_core::{JobKind, Stage};
use voxline_db::runs::Completion;
use voxline_worker::{StageContext, StageError, StageHandler};

pub struct Render {
    settings: EngineSettings,
}

impl Render {
    pub fn new(settings: EngineSettings) -> Self {
        Self { settings }
    }
}

#[async_trait::async_trait]
impl StageHandler for Render {
    fn stage(&self) -> Stage {
        Stage::Render
    }

    async fn run(&self, ctx: &StageContext) -> Result<Completion, StageError> {
        match ctx.job().kind {
            // A voiceover is a dub of its script over the source's own sound.
            JobKind::Dub | JobKind::Voiceover => dub::render(ctx, &self.settings).await,
            JobKind::Subtitle => subtitled::render(ctx).await,
            JobKind::Transcribe => Err(StageError::permanent(
                "internal",
                "a transcribe job has no render stage",
            )),
        }
    }
}

/// Runs the renderer until SIGTERM.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let handler = Arc::new(Render::new(settings.engines.clone()));
    voxline_worker::run_service(settings, "renderer", handler).await?;
    Ok(())
}
