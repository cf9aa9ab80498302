//! Stage runs: the lease protocol every worker follows.
//!
//! A run is claimed only while `queued` and due; the claim bumps `attempt`,
//! which is the fencing token, and names the worker process holding it
//! (whose one lease, in `workers`, covers everything it holds). Reporting
//! progress and recording an outcome require the current token and holder,
//! so a worker that stalled past its lease (or whose job was cancelled)
//! cannot overwrite what happened after. Claims and outcomes come in
//! batches: one statement each, whatever the batch holds.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use voxline_core::state::{ClaimedRun, EventKind, RunEvent, TaskEvent, TaskSnapshot, doing};
use voxline_core::{Stage, StageRunId, StageRunStatus, TaskStatus};

pub use crate::outcomes::{Applied, Outcomes};
use crate::rows::Job;
use crate::{Db, DbError};

/// The right to work on a run: only its holder may report on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub run_id: StageRunId,
    pub token: i32,
    pub owner: String,
}

/// A claimed run with what its stage needs to know about the job.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub lease: Lease,
    pub job: Job,
    pub language: String,
    pub stage: Stage,
    /// Failed attempts so far (not counting this one).
    pub failures: i32,
    pub max_attempts: i32,
    /// Workers lost under this run so far.
    pub lost_leases: i32,
    /// The traceparent of the run's previous attempt (empty before the
    /// second): this attempt's span links to it.
    pub earlier_attempt: String,
    /// The open tasks this run serves.
    pub tasks: Vec<TaskSnapshot>,
}

impl Claimed {
    /// The run as the state machine's plans see it.
    pub fn snapshot(&self) -> ClaimedRun {
        ClaimedRun {
            job: self.job.id,
            stage: self.stage,
            language: self.language.clone(),
            attempt: self.lease.token,
            failures: self.failures,
            max_attempts: self.max_attempts,
            tasks: self.tasks.clone(),
            publish_at: self.job.options.publish_at,
        }
    }
}

/// One engine call's consumption, recorded with the outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Usage {
    pub engine: String,
    pub unit: String,
    pub units: f64,
    pub latency_ms: i64,
    /// Estimated from the price table.
    pub cost_usd: f64,
    /// How many calls this row sums.
    pub calls: i64,
    pub ok: bool,
    /// The first failure's reason, for a row of failed calls.
    pub error: Option<String>,
}

pub use crate::artifacts::NewArtifact;

/// What a successful stage hands back.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    /// A small summary kept on the run (counts, engine, notes).
    pub output: serde_json::Value,
    pub engine: Option<String>,
    pub artifacts: Vec<NewArtifact>,
    pub usage: Vec<Usage>,
    /// Statistics for the task (a render's stretch figures).
    pub task_stats: Option<serde_json::Value>,
    /// A note for people, shown as the task's message (e.g. "no speech detected").
    pub note: Option<String>,
}

/// Why a stage failed, as the runner classified it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: String,
    pub message: String,
    /// Transient failures are retried with backoff; others fail the task at once.
    pub transient: bool,
}

/// The stages a job runs once for all its tasks.
pub(crate) fn job_level_stages() -> Vec<Stage> {
    Stage::ALL
        .iter()
        .copied()
        .filter(|s| s.is_job_level())
        .collect()
}

/// The task states a run's plan may move (the open ones).
pub(crate) fn open_task_states() -> Vec<TaskStatus> {
    TaskStatus::ALL
        .iter()
        .copied()
        .filter(|s| !s.is_final())
        .collect()
}

/// Claims each of `runs` (with its attempt's traceparent) for worker
/// `owner`, in one statement. Answers, in the same order, the claimed run,
/// or `None` when it is not due, already taken, finished or cancelled (a
/// duplicate delivery: acknowledge and move on).
pub async fn claim(
    db: &Db,
    owner: &str,
    runs: &[(StageRunId, String)],
) -> Result<Vec<Option<Claimed>>, DbError> {
    let ids: Vec<StageRunId> = runs.iter().map(|(r, _)| *r).collect();
    let spans: Vec<&str> = runs.iter().map(|(_, s)| s.as_str()).collect();
    let messages: Vec<&str> = Stage::ALL.iter().map(|s| doing(*s)).collect();
    let rows = db
        .rows(
            &query!("runs/claim"),
            &[
                &ids,
                &spans,
                &owner,
                &RunEvent::Claim.from(),
                &RunEvent::Claim.to(),
                &TaskEvent::Start.from(),
                &TaskEvent::Start.to(),
                &Stage::ALL,
                &EventKind::StageStarted,
                &job_level_stages(),
                &messages,
            ],
        )
        .await?;
    let mut claimed = grouped(&rows, |_| owner.to_owned())?;
    Ok((1..=runs.len() as i64)
        .map(|idx| claimed.remove(&idx))
        .collect())
}

/// Claimed runs from rows of (run, task it serves), keyed by the rows' `idx`.
pub(crate) fn grouped(
    rows: &[Row],
    owner: impl Fn(&Row) -> String,
) -> Result<BTreeMap<i64, Claimed>, DbError> {
    let mut out: BTreeMap<i64, Claimed> = BTreeMap::new();
    for r in rows {
        let idx: i64 = r.try_get("idx")?;
        let claimed = match out.entry(idx) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => e.insert(Claimed {
                lease: Lease {
                    run_id: r.try_get("run_id")?,
                    token: r.try_get("attempt")?,
                    owner: owner(r),
                },
                job: crate::rows::job(r)?,
                language: r.try_get("language")?,
                stage: r.try_get("stage")?,
                failures: r.try_get("failures")?,
                max_attempts: r.try_get("max_attempts")?,
                lost_leases: r.try_get("lost_leases")?,
                earlier_attempt: r.try_get("earlier_span")?,
                tasks: Vec::new(),
            }),
        };
        if let Some(task) = r.try_get::<_, Option<voxline_core::TaskId>>("task_id")? {
            claimed.tasks.push(TaskSnapshot {
                id: task,
                language: r.try_get("task_language")?,
                stages: r.try_get("task_stages")?,
                status: r.try_get("task_status")?,
            });
        }
    }
    Ok(out)
}

/// Reports progress within a stage (0.0–1.0 of it) with a message for
/// people. False when the lease is gone.
pub async fn progress(
    db: &Db,
    claimed: &Claimed,
    fraction: f64,
    message: &str,
) -> Result<bool, DbError> {
    let lease = &claimed.lease;
    let held = db
        .rows(
            &query!("runs/progress"),
            &[
                &lease.run_id,
                &lease.token,
                &lease.owner,
                &StageRunStatus::Running,
                &fraction.clamp(0.0, 1.0),
                &message,
                &TaskStatus::Running,
                &job_level_stages(),
                &EventKind::StageProgress,
            ],
        )
        .await?;
    Ok(!held.is_empty())
}

/// Writes the usage of an attempt that ends without an outcome of its own
/// (its lease was lost, or it was handed back at shutdown): the calls it
/// made were made, and billed, all the same.
pub async fn record_unfinished_usage(
    db: &Db,
    claimed: &Claimed,
    usage: &[Usage],
) -> Result<(), DbError> {
    if usage.is_empty() {
        return Ok(());
    }
    let usage = serde_json::to_value(usage).map_err(|e| DbError::Corrupt(e.to_string()))?;
    db.execute(
        &query!("usage/record"),
        &[
            &claimed.job.id,
            &claimed.job.tenant_id,
            &claimed.lease.run_id,
            &claimed.lease.token,
            &claimed.language,
            &claimed.stage.as_str(),
            &usage,
            &EventKind::UsageRecorded,
        ],
    )
    .await?;
    Ok(())
}

/// Where the janitor's sweep of queued runs left off.
pub type SweepCursor = Option<(DateTime<Utc>, StageRunId)>;

/// Up to `limit` queued runs due for more than `after_s` seconds, after
/// `cursor` (oldest first): the janitor makes sure the queue holds each.
/// Answers them as dispatches, and where to go on from.
pub async fn unqueued(
    db: &Db,
    after_s: f64,
    cursor: SweepCursor,
    limit: i64,
) -> Result<(Vec<voxline_core::Dispatch>, SweepCursor), DbError> {
    let (at, id) = cursor.unzip();
    let rows = db
        .rows(
            &query!("runs/unqueued"),
            &[&after_s, &limit, &at, &id, &StageRunStatus::Queued],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    let mut next = None;
    for r in &rows {
        let run_after: DateTime<Utc> = r.try_get("run_after")?;
        let run_id: StageRunId = r.try_get("id")?;
        next = Some((run_after, run_id));
        out.push(voxline_core::Dispatch {
            run_id,
            stage: r.try_get("stage")?,
            attempt: r.try_get("attempt")?,
            tenant: r.try_get("tenant_id")?,
            priority: r.try_get("priority")?,
            not_before: run_after,
            since: r.try_get("created_at")?,
            traceparent: r.try_get("traceparent")?,
        });
    }
    // A short page means the sweep reached the end: start over next time.
    Ok((
        out,
        if rows.len() as i64 == limit {
            next
        } else {
            None
        },
    ))
}
