//! What operators see across every tenant: the backlog of each stage, jobs
//! by state over the last hours, failed tasks with their errors, jobs in
//! flight, and each tenant's usage. Read-only; the operator dashboard and
//! the janitor's queue gauges read from here.

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;
use voxline_core::{JobId, JobKind, JobStatus, Stage};

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
        .client()
        .await?
        .query(
            "SELECT stage,
                    count(*) FILTER (WHERE status = 'queued' AND run_after <= now()),
                    count(*) FILTER (WHERE status = 'queued' AND run_after > now()),
                    count(*) FILTER (WHERE status = 'running'),
                    coalesce(extract(epoch FROM now() - min(run_after)
                                     FILTER (WHERE status = 'queued' AND run_after <= now())), 0)::float8
             FROM stage_runs WHERE status IN ('queued', 'running')
             GROUP BY stage",
            &[],
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
        let stage = Stage::parse(row.get(0))?;
        if let Some(stat) = stats.iter_mut().find(|s| s.stage == stage) {
            stat.queued_due = row.get(1);
            stat.scheduled = row.get(2);
            stat.running = row.get(3);
            stat.oldest_due_seconds = row.get(4);
        }
    }
    Ok(stats)
}

/// The workers holding a live lease on a run of `stage`: busy workers,
/// which may not be heartbeating to Redis while their stage runs.
pub async fn lease_holders(db: &Db, stage: Stage) -> Result<Vec<String>, DbError> {
    let rows = db
        .client()
        .await?
        .query(
            "SELECT DISTINCT lease_owner FROM stage_runs
             WHERE status = 'running' AND stage = $1 AND lease_expires_at > now()
               AND lease_owner IS NOT NULL",
            &[&stage.as_str()],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
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
    let rows = db
        .client()
        .await?
        .query(
            "SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', status, count(*)
             FROM jobs WHERE created_at >= $1
             GROUP BY 1, 2",
            &[&first],
        )
        .await?;
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
        let hour: DateTime<Utc> = row.get(0);
        let status = JobStatus::parse(row.get(1))?;
        let n: i64 = row.get(2);
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
    let rows = db
        .client()
        .await?
        .query(
            "SELECT t.job_id, n.name, j.kind, t.language, t.stage, t.error_code, t.error_message,
                    coalesce(t.finished_at, t.updated_at)
             FROM tasks t JOIN jobs j ON j.id = t.job_id JOIN tenants n ON n.id = j.tenant_id
             WHERE t.status = 'failed'
             ORDER BY t.finished_at DESC, t.job_id, t.language
             LIMIT $1",
            &[&limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(FailedTask {
                job_id: JobId(r.get(0)),
                tenant: r.get(1),
                kind: JobKind::parse(r.get(2))?,
                language: r.get(3),
                stage: Stage::parse(r.get(4))?,
                error_code: r.get(5),
                error_message: r.get(6),
                failed_at: r.get(7),
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
    let client = db.client().await?;
    let counts = client
        .query_one(
            "SELECT count(*) FILTER (WHERE status = 'queued'), count(*) FILTER (WHERE status = 'running')
             FROM jobs WHERE status IN ('queued', 'running')",
            &[],
        )
        .await?;
    let rows = client
        .query(
            "SELECT j.id, n.name, j.kind, j.status, j.target_languages, j.created_at,
                    coalesce((SELECT 100 * avg(t.progress) FROM tasks t WHERE t.job_id = j.id), 0)::float8
             FROM jobs j JOIN tenants n ON n.id = j.tenant_id
             WHERE j.status IN ('queued', 'running')
             ORDER BY j.created_at DESC, j.id DESC
             LIMIT $1",
            &[&limit],
        )
        .await?;
    let jobs = rows
        .iter()
        .map(|r| {
            Ok(ActiveJob {
                id: JobId(r.get(0)),
                tenant: r.get(1),
                kind: JobKind::parse(r.get(2))?,
                status: JobStatus::parse(r.get(3))?,
                target_languages: r.get(4),
                created_at: r.get(5),
                progress: r.get(6),
            })
        })
        .collect::<Result<_, DbError>>()?;
    Ok(ActiveJobs {
        queued: counts.get(0),
        running: counts.get(1),
        jobs,
    })
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
    let rows = db
        .client()
        .await?
        .query(
            "WITH j AS (SELECT tenant_id, count(*) AS jobs, sum(duration_s) AS media_seconds
                        FROM jobs WHERE created_at >= $1 GROUP BY tenant_id),
                  u AS (SELECT tenant_id, sum(calls) AS calls,
                               sum(calls) FILTER (WHERE NOT ok) AS failed_calls,
                               sum(cost_usd) AS cost_usd
                        FROM usage_records WHERE created_at >= $1 GROUP BY tenant_id)
             SELECT n.name, coalesce(j.jobs, 0)::bigint, coalesce(j.media_seconds, 0)::float8,
                    coalesce(u.calls, 0)::bigint, coalesce(u.failed_calls, 0)::bigint,
                    coalesce(u.cost_usd, 0)::float8 AS cost
             FROM j FULL JOIN u ON u.tenant_id = j.tenant_id
             JOIN tenants n ON n.id = coalesce(j.tenant_id, u.tenant_id)
             ORDER BY cost DESC, 2 DESC, n.name",
            &[&since],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| TenantUsage {
            tenant: r.get(0),
            jobs: r.get(1),
            media_seconds: r.get(2),
            engine_calls: r.get(3),
            failed_calls: r.get(4),
            cost_usd: r.get(5),
        })
        .collect())
}
