//! The translator service: turns the transcript's lines into one target
//! language, keeping each line's id and timing; a sentence the recognizer
//! cut across lines is joined into one line first (`voxline_core::sentences`).

use std::sync::Arc;

use voxline_config::Settings;
use voxline_core::{Language, Stage, Transcript, Translation, glossary, sentences};
use voxline_db::runs::Completion;
use voxline_providers::Engines;
use voxline_worker::{StageContext, StageError, StageHandler};

pub struct Translate {
    engines: Arc<Engines>,
}

impl Translate {
    pub fn new(engines: Arc<Engines>) -> Self {
        Self { engines }
    }
}

#[async_trait::async_trait]
impl StageHandler for Translate {
    fn stage(&self) -> Stage {
        Stage::Translate
    }

    async fn run(&self, ctx: &StageContext) -> Result<Completion, StageError> {
        let job = ctx.job();
        let transcript: Transcript = ctx
            .read_json(&job.source_language, Stage::Transcribe, "transcript.json")
            .await?;
        let from = language(&transcript.language)?;
        let to = language(ctx.language())?;
        // Sentences the recognizer cut across lines are translated whole.
        let lines = sentences::whole_sentences(&transcript.segments);
        let glossary = &job.options.glossary;
        let (segments, engine, glossary_misses) = if lines.is_empty() {
            (vec![], "none".to_owned(), vec![])
        } else if from.code == to.code {
            // An `auto` source turned out to be in the target language:
            // the lines are already what they should be.
            (lines, "none".to_owned(), vec![])
        } else {
            // Glossary terms travel as placeholders and come back as the
            // job says; one a translator lost is reported.
            let protected = glossary::protect(&lines, glossary);
            let (translated, engine) = self
                .engines
                .translate(&protected.lines, &from, &to, &ctx.calls)
                .await?;
            let (segments, misses) = glossary::restore(&protected, &translated, glossary, to.code);
            (segments, engine, misses)
        };
        let translation = Translation {
            source_language: from.code.into(),
            language: to.code.into(),
            engine: engine.clone(),
            segments,
            glossary_misses,
        };
        let artifact = ctx
            .put_bytes(
                "translation",
                "translation.json",
                "application/json",
                serde_json::to_vec_pretty(&translation)?,
            )
            .await?;
        Ok(Completion {
            output: serde_json::json!({
                "segments": translation.segments.len(),
                "glossary_misses": translation.glossary_misses,
            }),
            engine: Some(engine),
            artifacts: vec![artifact],
            ..Default::default()
        })
    }
}

fn language(code: &str) -> Result<Language, StageError> {
    Language::parse(code).map_err(|e| StageError::bad_input("unknown_language", e.to_string()))
}

/// Runs the translator until SIGTERM.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let handler = Arc::new(Translate::new(Arc::new(
        voxline_worker::engines(&settings).await?,
    )));
    voxline_worker::run_service(settings, "translator", handler).await?;
    Ok(())
}
