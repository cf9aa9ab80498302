//! A batch of stage-run outcomes, written as the plan document
//! `queries/runs/apply.sql` applies in one statement. The state machine
//! (`voxline_core::state`) decides each outcome; this module only writes
//! it down, and answers which runs' fences held and what to dispatch.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use voxline_core::state::{
    EventKind, FailurePlan, NewEvent, RunEvent, SuccessPlan, TaskEvent, TaskStep, on_release,
};
use voxline_core::{Dispatch, JobStatus, Stage, StageRunId, StageRunStatus, TaskStatus};

use crate::runs::{Claimed, Completion, Failure, Usage};
use crate::{Db, DbError};

/// What the batch did to one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// Whether the run's fence held (and so its whole outcome was written);
    /// false when its lease was gone and nothing was.
    pub held: bool,
    /// What to put on the queues now: the runs it scheduled, or itself when
    /// it was queued again.
    pub dispatch: Vec<Dispatch>,
}

/// Outcomes of runs to apply together.
#[derive(Debug)]
pub struct Outcomes {
    doc: Doc,
    ttl_hours: f64,
    /// Per run: what it dispatches if its fence holds.
    dispatch: Vec<Vec<Dispatch>>,
}

#[derive(Debug, Default, Serialize)]
struct Doc {
    from: Vec<StageRunStatus>,
    task_from: Vec<TaskStatus>,
    next_status: Option<StageRunStatus>,
    runs: Vec<RunIn>,
    tasks: Vec<TaskIn>,
    next: Vec<NextIn>,
    events: Vec<EventIn>,
    ended: Vec<EndedIn>,
    artifacts: Vec<ArtifactIn>,
    usage: Vec<UsageIn>,
    keep: Vec<KeepIn>,
}

#[derive(Debug, Serialize)]
struct RunIn {
    idx: usize,
    id: StageRunId,
    attempt: i32,
    owner: String,
    status: StageRunStatus,
    #[serde(rename = "final")]
    is_final: bool,
    commit: bool,
    failed: i32,
    lost: i32,
    error_code: Option<String>,
    error_message: Option<String>,
    delay_ms: Option<f64>,
    output: Option<Value>,
    engine: Option<String>,
}

#[derive(Debug, Serialize)]
struct TaskIn {
    idx: usize,
    id: voxline_core::TaskId,
    status: TaskStatus,
    stage: Stage,
    progress: f64,
    message: String,
    stats: Option<Value>,
    error_code: Option<String>,
    error_message: Option<String>,
    #[serde(rename = "final")]
    is_final: bool,
    open: i32,
    failed: i32,
    cancelled: i32,
    release: bool,
    charge: bool,
}

#[derive(Debug, Serialize)]
struct NextIn {
    idx: usize,
    id: StageRunId,
    language: String,
    stage: Stage,
    held_until: Option<DateTime<Utc>>,
    max_attempts: i32,
}

#[derive(Debug, Serialize)]
struct EventIn {
    idx: usize,
    kind: EventKind,
    language: Option<String>,
    stage: Option<Stage>,
    data: Value,
}

#[derive(Debug, Serialize)]
struct EndedIn {
    status: JobStatus,
    kind: EventKind,
}

#[derive(Debug, Serialize)]
struct ArtifactIn {
    idx: usize,
    language: String,
    stage: Stage,
    kind: String,
    object_key: String,
    file_name: String,
    content_type: String,
    size_bytes: i64,
    engine: Option<String>,
    expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct UsageIn {
    idx: usize,
    #[serde(flatten)]
    usage: Usage,
}

#[derive(Debug, Serialize)]
struct KeepIn {
    idx: usize,
    language: String,
    until: DateTime<Utc>,
}

impl Outcomes {
    /// An empty batch; the files of successes live `artifact_ttl_hours`.
    pub fn new(artifact_ttl_hours: f64) -> Self {
        Self {
            doc: Doc {
                // Every outcome ends an attempt: only a running run has one.
                from: vec![StageRunStatus::Running],
                task_from: crate::runs::open_task_states(),
                next_status: Some(StageRunStatus::Queued),
                ended: JobStatus::ALL
                    .iter()
                    .filter_map(|s| {
                        EventKind::job_ended(*s).map(|kind| EndedIn { status: *s, kind })
                    })
                    .collect(),
                ..Default::default()
            },
            ttl_hours: artifact_ttl_hours,
            dispatch: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.doc.runs.is_empty()
    }

    pub fn len(&self) -> usize {
        self.doc.runs.len()
    }

    /// A run's success, as `plan` (from `voxline_core::state::on_success`) has it.
    pub fn succeeded(&mut self, claimed: &Claimed, done: &Completion, plan: &SuccessPlan) -> usize {
        let idx = self.run(claimed, RunEvent::Succeed, |r| {
            r.commit = true;
            r.output = Some(done.output.clone());
            r.engine = done.engine.clone();
        });
        self.tasks(idx, &plan.tasks, done.task_stats.as_ref());
        self.events(idx, &plan.events);
        let now = Utc::now();
        let ttl = chrono::Duration::milliseconds((self.ttl_hours * 3_600_000.0) as i64);
        for a in &done.artifacts {
            // A file held for a scheduled publish keeps its lifetime from then.
            let from = plan
                .keep_files_until
                .iter()
                .filter(|(l, _)| *l == claimed.language)
                .map(|(_, at)| *at)
                .max()
                .map_or(now, |at| at.max(now));
            self.doc.artifacts.push(ArtifactIn {
                idx,
                language: claimed.language.clone(),
                stage: claimed.stage,
                kind: a.kind.clone(),
                object_key: a.object_key.clone(),
                file_name: a.file_name.clone(),
                content_type: a.content_type.clone(),
                size_bytes: a.size_bytes,
                engine: done.engine.clone(),
                expires_at: from + ttl,
            });
        }
        self.usage(idx, &done.usage);
        for (language, until) in &plan.keep_files_until {
            self.doc.keep.push(KeepIn {
                idx,
                language: language.clone(),
                until: *until,
            });
        }
        for next in &plan.next_runs {
            let id = StageRunId::new();
            self.doc.next.push(NextIn {
                idx,
                id,
                language: next.language.clone(),
                stage: next.stage,
                held_until: next.held_until,
                max_attempts: claimed.max_attempts,
            });
            if next.held_until.is_none() {
                self.dispatch[idx].push(dispatch(claimed, id, next.stage, 0, now));
            }
        }
        idx
    }

    /// A failed attempt, as `plan` (from `voxline_core::state::on_failure`)
    /// has it; a retry waits `backoff`. `lost_lease` counts the failure as
    /// a worker loss (the janitor's) rather than the stage's own.
    pub fn failed(
        &mut self,
        claimed: &Claimed,
        failure: &Failure,
        plan: &FailurePlan,
        backoff: Duration,
        usage: &[Usage],
        lost_lease: bool,
    ) -> usize {
        let event = plan.run_event();
        let retry = event.to() == StageRunStatus::Queued;
        let idx = self.run(claimed, event, |r| {
            if lost_lease {
                r.lost = 1;
            } else {
                r.failed = 1;
            }
            r.error_code = Some(failure.code.clone());
            r.error_message = Some(failure.message.clone());
            r.delay_ms = retry.then_some(backoff.as_secs_f64() * 1000.0);
        });
        self.tasks(idx, &plan.tasks, None);
        self.events(idx, &plan.events);
        self.usage(idx, usage);
        if retry {
            let at = Utc::now() + chrono::Duration::milliseconds(backoff.as_millis() as i64);
            let d = dispatch(
                claimed,
                claimed.lease.run_id,
                claimed.stage,
                claimed.lease.token,
                at,
            );
            self.dispatch[idx].push(d);
        }
        idx
    }

    /// A run handed back without counting a failure (a worker stopping):
    /// queued again at once, with the usage its attempt made.
    pub fn released(&mut self, claimed: &Claimed, usage: &[Usage]) -> usize {
        let idx = self.run(claimed, RunEvent::Release, |r| r.delay_ms = Some(0.0));
        self.events(idx, &[on_release(&claimed.snapshot())]);
        self.usage(idx, usage);
        let d = dispatch(
            claimed,
            claimed.lease.run_id,
            claimed.stage,
            claimed.lease.token,
            Utc::now(),
        );
        self.dispatch[idx].push(d);
        idx
    }

    fn run(&mut self, claimed: &Claimed, event: RunEvent, set: impl FnOnce(&mut RunIn)) -> usize {
        let idx = self.doc.runs.len();
        let to = event.to();
        let mut r = RunIn {
            idx,
            id: claimed.lease.run_id,
            attempt: claimed.lease.token,
            owner: claimed.lease.owner.clone(),
            status: to,
            is_final: to.is_final(),
            commit: false,
            failed: 0,
            lost: 0,
            error_code: None,
            error_message: None,
            delay_ms: None,
            output: None,
            engine: None,
        };
        set(&mut r);
        self.doc.runs.push(r);
        self.dispatch.push(Vec::new());
        idx
    }

    fn tasks(&mut self, idx: usize, steps: &[TaskStep], stats: Option<&Value>) {
        for s in steps {
            let status = s.status();
            self.doc.tasks.push(TaskIn {
                idx,
                id: s.task,
                status,
                stage: s.stage,
                progress: s.progress.clamp(0.0, 1.0),
                message: s.message.clone(),
                stats: stats.cloned(),
                error_code: s.error.as_ref().map(|(c, _)| c.clone()),
                error_message: s.error.as_ref().map(|(_, m)| m.clone()),
                is_final: status.is_final(),
                open: s.delta.open,
                failed: s.delta.failed,
                cancelled: s.delta.cancelled,
                // A task that ended gives back its reservation; one that
                // completed is charged.
                release: status.is_final(),
                charge: s.event == TaskEvent::Complete,
            });
        }
    }

    /// The events of run `idx`'s change. Every change a job's views show
    /// records at least one (the gateway's kept views are served only while
    /// the job's event count is unchanged: `queries/snapshots/read.sql`).
    fn events(&mut self, idx: usize, events: &[NewEvent]) {
        assert!(
            !events.is_empty(),
            "a run's outcome must record an event for the job's readers"
        );
        for e in events {
            self.doc.events.push(EventIn {
                idx,
                kind: e.kind,
                language: e.language.clone(),
                stage: e.stage,
                data: e.data.clone(),
            });
        }
    }

    fn usage(&mut self, idx: usize, usage: &[Usage]) {
        for u in usage {
            self.doc.usage.push(UsageIn {
                idx,
                usage: u.clone(),
            });
        }
    }
}

fn dispatch(
    claimed: &Claimed,
    run: StageRunId,
    stage: Stage,
    attempt: i32,
    at: DateTime<Utc>,
) -> Dispatch {
    Dispatch {
        run_id: run,
        stage,
        attempt,
        tenant: claimed.job.tenant_id,
        priority: claimed.job.priority,
        not_before: at,
        since: claimed.job.created_at,
        traceparent: claimed.job.traceparent.clone(),
    }
}

/// Applies a batch in one statement. Answers, per run in the order they
/// were added, whether its fence held and what to dispatch.
pub async fn apply(db: &Db, outcomes: Outcomes) -> Result<Vec<Applied>, DbError> {
    if outcomes.is_empty() {
        return Ok(vec![]);
    }
    let doc = serde_json::to_value(&outcomes.doc).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let rows = db.rows(&query!("runs/apply"), &[&doc]).await?;
    let mut held = vec![false; outcomes.len()];
    let mut scheduled = std::collections::HashSet::new();
    for r in &rows {
        let idx: i32 = r.try_get("idx")?;
        held[idx as usize] = true;
        if let Some(id) = r.try_get::<_, Option<StageRunId>>("scheduled")? {
            scheduled.insert(id);
        }
    }
    Ok(outcomes
        .dispatch
        .into_iter()
        .zip(held)
        .zip(outcomes.doc.runs.iter())
        .map(|((dispatch, held), run)| Applied {
            held,
            dispatch: if held {
                dispatch
                    .into_iter()
                    // A run already scheduled (a redelivered success) is not sent again.
                    .filter(|d| d.run_id == run.id || scheduled.contains(&d.run_id))
                    .collect()
            } else {
                vec![]
            },
        })
        .collect())
}
