//! What operators see across every tenant: the backlog of each stage, jobs
//! by state over the last hours, failed tasks with their errors, jobs in
//! flight, and each tenant's usage. Read-only; the operator dashboard and
//! the janitor's queue gauges read from here.

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;
use voxline_core::{JobId, JobKind, JobStatus, Stage, StageRunStatus, TaskStatus};

use crate::{Db, DbError};

/// The backlog of one stage, as PostgreSQL (the source of truth) has it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueStat {
    pub stage: Stage,
    /// Runs waiting for a worker now.
    pub queued_due: i64,
    /// Runs waiting for a later time: a retry's backoff, or a scheduled
    /// publication.
    pub scheduled: i64,
    /// Runs a worker holds.
    pub running: i64,
    /// How long the oldest due run has been due; 0 when none is.
    pub oldest_due_seconds: f64,
}

/// One row per stage, every stage present, in the order of [`Stage::ALL`].
pub async fn queue_stats(db: &Db) -> Result<Vec<QueueStat>, DbError> {
    let rows = db
        .rows(
            &query!("ops/queue_stats"),
            &[&StageRunStatus::Queued, &StageRunStatus::Running],
        )
        .await?;
    let mut stats: Vec<QueueStat> = Stage::ALL
        .iter()
        .map(|&stage| QueueStat {
            stage,
            queued_due: 0,
            scheduled: 0,
            running: 0,
            oldest_due_seconds: 0.0,
        })
        .collect();
    for row in &rows {
        let stage: Stage = row.try_get("stage")?;
        if let Some(stat) = stats.iter_mut().find(|s| s.stage == stage) {
            stat.queued_due = row.try_get("queued_due")?;
            stat.scheduled = row.try_get("scheduled")?;
            stat.running = row.try_get("running")?;
            stat.oldest_due_seconds = row.try_get("oldest_due_seconds")?;
        }
    }
    Ok(stats)
}

/// Jobs counted by their state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub queued: i64,
    pub running: i64,
    pub completed: i64,
    pub failed: i64,
    pub cancelled: i64,
}

impl StatusCounts {
    fn add(&mut self, status: JobStatus, n: i64) {
        let slot = match status {
            JobStatus::Queued => &mut self.queued,
            JobStatus::Running => &mut self.running,
            JobStatus::Completed => &mut self.completed,
            JobStatus::Failed => &mut self.failed,
            JobStatus::Cancelled => &mut self.cancelled,
        };
        *slot += n;
    }
}

/// The jobs created in one hour, by the state they are in now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourOfJobs {
    /// The start of the hour (UTC).
    pub hour: DateTime<Utc>,
    pub counts: StatusCounts,
}

/// Jobs created over the last hours, hour by hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobHistory {
    /// Every hour of the period, oldest first, the current one last (empty
    /// hours too, so a chart's axis is regular).
    pub hours: Vec<HourOfJobs>,
    /// The sum of `hours`.
    pub totals: StatusCounts,
}

/// The jobs created in the last `hours` hours (the current one included),
/// counted per hour and state.
pub async fn job_history(db: &Db, hours: u32) -> Result<JobHistory, DbError> {
    let hours = hours.max(1);
    let now = Utc::now();
    let current = now
        .duration_trunc(Duration::hours(1))
        .map_err(|e| DbError::Corrupt(format!("the clock cannot be rounded to the hour: {e}")))?;
    let first = current - Duration::hours(i64::from(hours) - 1);
    let rows = db.rows(&query!("ops/job_history"), &[&first]).await?;
    let mut history = JobHistory {
        hours: (0..hours)
            .map(|i| HourOfJobs {
                hour: first + Duration::hours(i64::from(i)),
                counts: StatusCounts::default(),
            })
            .collect(),
        totals: StatusCounts::default(),
    };
    for row in &rows {
        let hour: DateTime<Utc> = row.try_get("hour")?;
        let status: JobStatus = row.try_get("status")?;
        let n: i64 = row.try_get("jobs")?;
        let index = (hour - first).num_hours();
        if let Some(slot) = usize::try_from(index)
            .ok()
            .and_then(|i| history.hours.get_mut(i))
        {
            slot.counts.add(status, n);
            history.totals.add(status, n);
        }
    }
    Ok(history)
}

/// A task that failed for good, with its error.
#[derive(Debug, Clone)]
pub struct FailedTask {
    pub job_id: JobId,
    pub tenant: String,
    pub kind: JobKind,
    pub language: String,
    /// The stage it failed at.
    pub stage: Stage,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub failed_at: DateTime<Utc>,
}

/// The `limit` most recently failed tasks of every tenant, newest first.
pub async fn failed_tasks(db: &Db, limit: i64) -> Result<Vec<FailedTask>, DbError> {
    db.rows(&query!("ops/failed_tasks"), &[&limit, &TaskStatus::Failed])
        .await?
        .iter()
        .map(|r| {
            Ok(FailedTask {
                job_id: r.try_get("job_id")?,
                tenant: r.try_get("tenant")?,
                kind: r.try_get("kind")?,
                language: r.try_get("language")?,
                stage: r.try_get("stage")?,
                error_code: r.try_get("error_code")?,
                error_message: r.try_get("error_message")?,
                failed_at: r.try_get("failed_at")?,
            })
        })
        .collect()
}

/// A job still queued or running.
#[derive(Debug, Clone)]
pub struct ActiveJob {
    pub id: JobId,
    pub tenant: String,
    pub kind: JobKind,
    pub status: JobStatus,
    pub target_languages: Vec<String>,
    /// Mean progress of its tasks, 0 to 100.
    pub progress: f64,
    pub created_at: DateTime<Utc>,
}

/// The jobs in flight across tenants: how many are queued and running, and
/// the `limit` newest of them.
#[derive(Debug, Clone)]
pub struct ActiveJobs {
    pub queued: i64,
    pub running: i64,
    pub jobs: Vec<ActiveJob>,
}

pub async fn active_jobs(db: &Db, limit: i64) -> Result<ActiveJobs, DbError> {
    let rows = db
        .rows(
            &query!("ops/active_jobs"),
            &[&JobStatus::Queued, &JobStatus::Running, &limit],
        )
        .await?;
    let mut active = ActiveJobs {
        queued: 0,
        running: 0,
        jobs: Vec::with_capacity(rows.len()),
    };
    for r in &rows {
        // Every row carries the counts; with no job in flight, one row has no job.
        active.queued = r.try_get("queued")?;
        active.running = r.try_get("running")?;
        let Some(id) = r.try_get::<_, Option<JobId>>("id")? else {
            continue;
        };
        active.jobs.push(ActiveJob {
            id,
            tenant: r.try_get("tenant")?,
            kind: r.try_get("kind")?,
            status: r.try_get("status")?,
            target_languages: r.try_get("target_languages")?,
            progress: r.try_get("progress")?,
            created_at: r.try_get("created_at")?,
        });
    }
    Ok(active)
}

/// What one tenant used in a period.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantUsage {
    pub tenant: String,
    /// Jobs created in the period.
    pub jobs: i64,
    /// Seconds of source media of those jobs.
    pub media_seconds: f64,
    /// Engine calls made in the period, and how many of them failed.
    pub engine_calls: i64,
    pub failed_calls: i64,
    /// Estimated cost of those calls.
    pub cost_usd: f64,
}

/// Every tenant that created a job or called an engine since `since`, the
/// most expensive first.
pub async fn tenant_usage(db: &Db, since: DateTime<Utc>) -> Result<Vec<TenantUsage>, DbError> {
    db.rows(&query!("ops/tenant_usage"), &[&since])
        .await?
        .iter()
        .map(|r| {
            Ok(TenantUsage {
                tenant: r.try_get("tenant")?,
                jobs: r.try_get("jobs")?,
                media_seconds: r.try_get("media_seconds")?,
                engine_calls: r.try_get("engine_calls")?,
                failed_calls: r.try_get("failed_calls")?,
                cost_usd: r.try_get("cost_usd")?,
            })
        })
        .collect()
}

/// Whether the server runs autovacuum (`queries/ops/autovacuum.sql` says
/// why it matters).
pub async fn autovacuum(db: &Db) -> Result<bool, DbError> {
    let rows = db.rows(&query!("ops/autovacuum"), &[]).await?;
    Ok(rows
        .first()
        .map(|r| r.try_get("autovacuum"))
        .transpose()?
        .unwrap_or(true))
}
