use crate::JobKind;

text_enum!(
    /// A unit of work one worker service performs. Each has its own queue.
    Stage, "stage", sql "stage" {
        Transcribe => "transcribe",
        Translate => "translate",
        Synthesize => "synthesize",
        Render => "render",
        Publish => "publish",
    }
);

text_enum!(
    /// The state of one stage run. `Queued` covers "due now" and "waiting for
    /// its backoff to pass" (see `run_after`).
    StageRunStatus, "stage run status", sql "run_status" {
        Queued => "queued",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

impl Stage {
    /// True for the stage that runs once per job (on the source language)
    /// rather than once per target language.
    pub fn is_job_level(self) -> bool {
        self == Stage::Transcribe
    }
}

/// The stages one task of a job goes through, in order. Transcription is
/// shared by every task of the job; publishing happens only where a publish
/// target is configured.
pub fn task_stages(kind: JobKind, publish: bool) -> Vec<Stage> {
    let mut stages = match kind {
        // A voiceover's "transcription" takes its script.
        JobKind::Dub | JobKind::Voiceover => vec![
            Stage::Transcribe,
            Stage::Translate,
            Stage::Synthesize,
            Stage::Render,
        ],
        JobKind::Subtitle => vec![Stage::Transcribe, Stage::Translate, Stage::Render],
        JobKind::Transcribe => vec![Stage::Transcribe],
    };
    if publish {
        stages.push(Stage::Publish);
    }
    stages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dub_runs_every_stage_and_publishes_only_when_asked() {
        assert_eq!(task_stages(JobKind::Dub, false).len(), 4);
        assert_eq!(
            task_stages(JobKind::Dub, true).last(),
            Some(&Stage::Publish)
        );
        assert_eq!(task_stages(JobKind::Subtitle, false)[2], Stage::Render);
    }
}
