//! What a claimed run's success or failure changes: the plan the runner
//! hands `voxline-db`, which applies it in one statement, fenced by the
//! run's lease (if the lease is gone, nothing of the plan happens).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use crate::state::{EventKind, JobDelta, RunEvent, TaskEvent};
use crate::{JobId, Stage, TaskId, TaskStatus};

/// A task as the claim saw it: what a plan needs to move it on.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSnapshot {
    pub id: TaskId,
    pub language: String,
    pub stages: Vec<Stage>,
    pub status: TaskStatus,
}

/// What the runner knows of a run it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedRun {
    pub job: JobId,
    pub stage: Stage,
    pub language: String,
    /// The attempt being made (the fencing token).
    pub attempt: i32,
    /// Failed attempts before this one.
    pub failures: i32,
    pub max_attempts: i32,
    /// The open tasks this run serves: every task of the job for the
    /// job-level stage, else the task of the run's language.
    pub tasks: Vec<TaskSnapshot>,
    /// When the job asked to be published, if it did.
    pub publish_at: Option<DateTime<Utc>>,
}

/// A run to schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    pub language: String,
    pub stage: Stage,
    /// Held in PostgreSQL until then (a scheduled publish), not dispatched.
    pub held_until: Option<DateTime<Utc>>,
}

/// An event to tell the job's watchers.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: EventKind,
    pub language: Option<String>,
    pub stage: Option<Stage>,
    pub data: serde_json::Value,
}

/// How one task moves.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskStep {
    pub task: TaskId,
    pub event: TaskEvent,
    /// The task's stage after the move.
    pub stage: Stage,
    pub progress: f64,
    /// What the task says to people.
    pub message: String,
    /// The error a failed task keeps.
    pub error: Option<(String, String)>,
    /// How the job's counts move with it.
    pub delta: JobDelta,
}

impl TaskStep {
    /// The task's state after the move.
    pub fn status(&self) -> TaskStatus {
        self.event.to()
    }
}

/// What a run's success changes.
#[derive(Debug, Clone, PartialEq)]
pub struct SuccessPlan {
    pub tasks: Vec<TaskStep>,
    pub next_runs: Vec<NewRun>,
    pub events: Vec<NewEvent>,
    /// Files of these languages must outlive a scheduled publish: each keeps
    /// its lifetime, counted from this time.
    pub keep_files_until: Vec<(String, DateTime<Utc>)>,
}

/// What the stage reported with its success.
#[derive(Debug, Clone, Copy, Default)]
pub struct Verdict<'a> {
    pub engine: Option<&'a str>,
    pub output: Option<&'a serde_json::Value>,
    /// A note for people, shown as the task's message ("no speech detected").
    pub note: Option<&'a str>,
}

/// The event of `run` handed back by a worker that stops: the run is queued
/// again with its attempt and failures as they were, its tasks unmoved.
pub fn on_release(run: &ClaimedRun) -> NewEvent {
    NewEvent {
        kind: EventKind::StageReleased,
        language: Some(run.language.clone()),
        stage: Some(run.stage),
        data: json!({ "attempt": run.attempt }),
    }
}

/// The plan for `run` having succeeded at `now`: each task it served moves to
/// its next stage (scheduling that stage's run) or completes.
pub fn on_success(run: &ClaimedRun, verdict: Verdict<'_>, now: DateTime<Utc>) -> SuccessPlan {
    let mut plan = SuccessPlan {
        tasks: Vec::new(),
        next_runs: Vec::new(),
        events: vec![NewEvent {
            kind: EventKind::StageSucceeded,
            language: Some(run.language.clone()),
            stage: Some(run.stage),
            data: json!({ "engine": verdict.engine, "output": verdict.output }),
        }],
        keep_files_until: Vec::new(),
    };
    for task in run.tasks.iter().filter(|t| !t.status.is_final()) {
        let position = task
            .stages
            .iter()
            .position(|s| *s == run.stage)
            .unwrap_or(0);
        let note = verdict.note.map(str::to_owned);
        match task.stages.get(position + 1) {
            Some(&next) => {
                let held_until = (next == Stage::Publish)
                    .then_some(run.publish_at)
                    .flatten()
                    .filter(|at| *at > now);
                let message = match held_until {
                    Some(at) => format!(
                        "publishing at {}",
                        at.to_rfc3339_opts(SecondsFormat::Secs, true)
                    ),
                    None => note.unwrap_or_else(|| format!("waiting to {next}")),
                };
                if let Some(at) = held_until {
                    plan.keep_files_until.push((task.language.clone(), at));
                }
                plan.tasks.push(TaskStep {
                    task: task.id,
                    event: TaskEvent::Advance,
                    stage: next,
                    progress: (position + 1) as f64 / task.stages.len() as f64,
                    message,
                    error: None,
                    delta: JobDelta::default(),
                });
                plan.next_runs.push(NewRun {
                    language: task.language.clone(),
                    stage: next,
                    held_until,
                });
            }
            None => {
                plan.tasks.push(TaskStep {
                    task: task.id,
                    event: TaskEvent::Complete,
                    stage: run.stage,
                    progress: 1.0,
                    message: note.unwrap_or_else(|| "done".into()),
                    error: None,
                    delta: JobDelta::of(TaskStatus::Running, TaskStatus::Completed),
                });
                plan.events.push(NewEvent {
                    kind: EventKind::TaskCompleted,
                    language: Some(task.language.clone()),
                    stage: None,
                    data: json!({}),
                });
            }
        }
    }
    plan
}

/// Whether a failed attempt is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureStep {
    /// Queued again after the backoff.
    Retry,
    /// The run and its tasks fail; the error stays for the user.
    Fail,
}

/// What a run's failure changes.
#[derive(Debug, Clone, PartialEq)]
pub struct FailurePlan {
    pub step: FailureStep,
    pub tasks: Vec<TaskStep>,
    pub events: Vec<NewEvent>,
}

impl FailurePlan {
    /// The run's event: tried again, or failed for good.
    pub fn run_event(&self) -> RunEvent {
        match self.step {
            FailureStep::Retry => RunEvent::FailAndRetry,
            FailureStep::Fail => RunEvent::Fail,
        }
    }
}

/// The plan for an attempt of `run` that failed with `code` and `message`.
/// A transient failure is tried again while attempts remain (`retry`
/// counts against them: `failures` for the stage's own faults, or the
/// worker losses for leases that ran out); anything else fails the run's
/// tasks at once with the error kept.
pub fn on_failure(
    run: &ClaimedRun,
    code: &str,
    message: &str,
    retry: bool,
    attempts_used: i32,
    attempts_allowed: i32,
) -> FailurePlan {
    let step = if retry && attempts_used < attempts_allowed {
        FailureStep::Retry
    } else {
        FailureStep::Fail
    };
    let stage = run.stage;
    let data = json!({ "code": code, "message": message, "attempt": run.attempt });
    let open = run.tasks.iter().filter(|t| !t.status.is_final());
    let (tasks, kind) = match step {
        FailureStep::Retry => (
            open.map(|t| TaskStep {
                task: t.id,
                event: TaskEvent::Start,
                stage,
                progress: progress_at(t, stage),
                message: format!("{stage} failed ({message}); retrying"),
                error: None,
                delta: JobDelta::default(),
            })
            .collect(),
            EventKind::StageRetrying,
        ),
        FailureStep::Fail => (
            open.map(|t| TaskStep {
                task: t.id,
                event: TaskEvent::Fail,
                stage,
                progress: progress_at(t, stage),
                message: format!("{stage} failed"),
                error: Some((code.to_owned(), message.to_owned())),
                delta: JobDelta::of(t.status, TaskStatus::Failed),
            })
            .collect(),
            EventKind::StageFailed,
        ),
    };
    FailurePlan {
        step,
        tasks,
        events: vec![NewEvent {
            kind,
            language: Some(run.language.clone()),
            stage: Some(stage),
            data,
        }],
    }
}

/// The share of a task done when `stage` begins.
fn progress_at(task: &TaskSnapshot, stage: Stage) -> f64 {
    let position = task.stages.iter().position(|s| *s == stage).unwrap_or(0);
    position as f64 / task.stages.len().max(1) as f64
}

/// What a task says while `stage` runs.
pub fn doing(stage: Stage) -> &'static str {
    match stage {
        Stage::Transcribe => "transcribing",
        Stage::Translate => "translating",
        Stage::Synthesize => "synthesizing speech",
        Stage::Render => "rendering",
        Stage::Publish => "publishing",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{JobKind, task_stages};

    fn run(stage: Stage, languages: &[&str], publish_at: Option<DateTime<Utc>>) -> ClaimedRun {
        let stages = task_stages(JobKind::Dub, publish_at.is_some());
        ClaimedRun {
            job: JobId::new(),
            stage,
            language: if stage.is_job_level() {
                "en".into()
            } else {
                languages[0].into()
            },
            attempt: 1,
            failures: 0,
            max_attempts: 3,
            tasks: languages
                .iter()
                .map(|l| TaskSnapshot {
                    id: TaskId::new(),
                    language: (*l).into(),
                    stages: stages.clone(),
                    status: TaskStatus::Running,
                })
                .collect(),
            publish_at,
        }
    }

    #[test]
    fn transcription_moves_every_language_to_translation() {
        let plan = on_success(
            &run(Stage::Transcribe, &["es", "fr"], None),
            Verdict::default(),
            Utc::now(),
        );
        assert_eq!(plan.next_runs.len(), 2);
        assert!(plan.next_runs.iter().all(|r| r.stage == Stage::Translate));
        assert!(
            plan.tasks
                .iter()
                .all(|t| t.message == "waiting to translate")
        );
        assert!((plan.tasks[0].progress - 0.25).abs() < 1e-9);
        assert_eq!(plan.events.len(), 1, "only stage_succeeded");
    }

    #[test]
    fn the_last_stage_completes_the_task_and_counts_it_closed() {
        let plan = on_success(
            &run(Stage::Render, &["es"], None),
            Verdict {
                note: Some("ok"),
                ..Default::default()
            },
            Utc::now(),
        );
        assert!(plan.next_runs.is_empty());
        assert_eq!(plan.tasks[0].status(), TaskStatus::Completed);
        assert_eq!(plan.tasks[0].message, "ok");
        assert_eq!(plan.tasks[0].delta.open, -1);
        assert_eq!(plan.events[1].kind, EventKind::TaskCompleted);
    }

    #[test]
    fn a_scheduled_publish_is_held_and_its_files_kept() {
        let at = Utc::now() + chrono::Duration::hours(2);
        let plan = on_success(
            &run(Stage::Render, &["es"], Some(at)),
            Verdict::default(),
            Utc::now(),
        );
        assert_eq!(plan.next_runs[0].held_until, Some(at));
        assert!(plan.tasks[0].message.starts_with("publishing at "));
        assert_eq!(plan.keep_files_until, vec![("es".to_owned(), at)]);
        let past = Utc::now() - chrono::Duration::hours(2);
        let plan = on_success(
            &run(Stage::Render, &["es"], Some(past)),
            Verdict::default(),
            Utc::now(),
        );
        assert_eq!(
            plan.next_runs[0].held_until, None,
            "a time gone by holds nothing"
        );
    }

    #[test]
    fn failures_retry_while_attempts_remain_then_fail_with_the_error() {
        let r = run(Stage::Translate, &["es"], None);
        let plan = on_failure(&r, "engine_unavailable", "down", true, 1, 3);
        assert_eq!(plan.run_event(), RunEvent::FailAndRetry);
        assert_eq!(plan.events[0].kind, EventKind::StageRetrying);
        assert!(plan.tasks[0].delta.is_zero());
        let plan = on_failure(&r, "engine_unavailable", "down", true, 3, 3);
        assert_eq!(plan.run_event(), RunEvent::Fail);
        assert_eq!(
            plan.tasks[0].error,
            Some(("engine_unavailable".into(), "down".into()))
        );
        assert_eq!(
            plan.tasks[0].delta,
            JobDelta {
                open: -1,
                failed: 1,
                cancelled: 0
            }
        );
        let plan = on_failure(&r, "unusable_input", "bad", false, 1, 3);
        assert_eq!(plan.step, FailureStep::Fail, "bad input is not retried");
    }
}
