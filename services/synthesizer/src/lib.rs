//! The synthesizer service: speaks each translated line in the target
//! language, one 48 kHz mono WAV per line, plus a manifest of their lengths.

use std::sync::Arc;

use voxline_config::Settings;
use voxline_core::{Language, Stage, Synthesis, SynthesizedLine, Translation};
use voxline_db::runs::Completion;
use voxline_media::audio;
use voxline_providers::Engines;
use voxline_queue::{StageContext, StageError, StageHandler};

pub struct Synthesize {
    engines: Arc<Engines>,
}

impl Synthesize {
    pub fn new(engines: Arc<Engines>) -> Self {
        Self { engines }
    }
}

#[async_trait::async_trait]
impl StageHandler for Synthesize {
    fn stage(&self) -> Stage {
        Stage::Synthesize
    }

    async fn run(&self, ctx: &StageContext) -> Result<Completion, StageError> {
        let translation: Translation = ctx
            .read_json(ctx.language(), Stage::Translate, "translation.json")
            .await?;
        let language = Language::parse(ctx.language())
            .map_err(|e| StageError::bad_input("unknown_language", e.to_string()))?;
        let total = translation.segments.len().max(1);
        let mut lines = Vec::with_capacity(translation.segments.len());
        // Every engine that spoke a line, in the order first used.
        let mut engines_used: Vec<String> = Vec::new();
        for (i, segment) in translation.segments.iter().enumerate() {
            let raw = ctx.scratch(&format!("raw-{:04}.wav", segment.id));
            let engine = self
                .engines
                .synthesize(&segment.text, &language, &raw, &ctx.calls)
                .await?;
            if !engines_used.contains(&engine) {
                engines_used.push(engine.clone());
            }
            let file = format!("line-{:04}.wav", segment.id);
            let normalized = ctx.scratch(&file);
            audio::to_pcm_48k_mono(&raw, &normalized).await?;
            let duration = audio::duration(&normalized).await?;
            let key = ctx.artifact_key(ctx.language(), Stage::Synthesize, &file);
            ctx.storage.put_file(&key, &normalized).await?;
            lines.push(SynthesizedLine {
                id: segment.id,
                file,
                duration,
                engine,
            });
            ctx.progress(
                (i + 1) as f64 / total as f64,
                &format!("synthesized {} of {} lines", i + 1, total),
            )
            .await;
        }
        let engine_used = if engines_used.is_empty() {
            "none".to_owned()
        } else {
            engines_used.join(", ")
        };
        let manifest = Synthesis {
            language: language.code.into(),
            engine: engine_used.clone(),
            segments: lines,
        };
        let artifact = ctx
            .put_bytes(
                "synthesis",
                "synthesis.json",
                "application/json",
                serde_json::to_vec_pretty(&manifest)?,
            )
            .await?;
        Ok(Completion {
            output: serde_json::json!({ "lines": manifest.segments.len() }),
            engine: Some(engine_used),
            artifacts: vec![artifact],
            ..Default::default()
        })
    }
}

/// Runs the synthesizer until SIGTERM.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let handler = Arc::new(Synthesize::new(Arc::new(
        voxline_queue::engines(&settings).await?,
    )));
    voxline_queue::run_service(settings, "synthesizer", handler).await?;
    Ok(())
}
