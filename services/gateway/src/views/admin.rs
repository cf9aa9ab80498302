//! The JSON of the operator API (`/v1/admin/overview`): every tenant's work
//! at a glance.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use voxline_db::ops::{
    ActiveJob, FailedTask, HourOfJobs, JobHistory, QueueStat, StatusCounts, TenantUsage,
};

/// Everything the operator dashboard shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverviewView {
    pub generated_at: DateTime<Utc>,
    /// The period of `jobs.history` and `tenants`, in hours.
    pub hours: u32,
    /// One entry per stage, in pipeline order.
    pub queues: Vec<QueueView>,
    pub jobs: JobsOverview,
    /// The latest tasks that failed for good, newest first.
    pub failed_tasks: Vec<FailedTaskView>,
    /// Each tenant's use of the period, the most expensive first.
    pub tenants: Vec<TenantUsageView>,
    /// What could not be read (Redis down, for instance); the rest is still
    /// answered.
    pub problems: Vec<String>,
}

/// One stage's backlog: PostgreSQL's account (the source of truth) beside
/// what Redis holds and who is working.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueView {
    #[schema(example = "translate")]
    pub stage: String,
    /// Runs due now, waiting for a worker.
    pub queued_due: i64,
    /// Runs waiting for a later time (a retry's backoff, a scheduled publication).
    pub scheduled: i64,
    /// Runs a worker holds.
    pub running: i64,
    /// How long the oldest due run has waited, in seconds (0 when none).
    pub oldest_due_seconds: f64,
    /// Messages on the stage's Redis queue; null when Redis could not be read.
    pub redis_pending: Option<u64>,
    /// Workers of the stage seen alive in the last seconds (heartbeat or
    /// live lease); null when Redis could not be read.
    pub workers_alive: Option<u64>,
}

impl QueueView {
    pub fn new(stat: &QueueStat, redis_pending: Option<u64>, workers_alive: Option<u64>) -> Self {
        Self {
            stage: stat.stage.as_str().to_owned(),
            queued_due: stat.queued_due,
            scheduled: stat.scheduled,
            running: stat.running,
            oldest_due_seconds: stat.oldest_due_seconds,
            redis_pending,
            workers_alive,
        }
    }
}

/// Jobs in flight now, and the jobs of the period by state.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobsOverview {
    /// Every job queued now, however old.
    pub queued: i64,
    /// Every job running now, however old.
    pub running: i64,
    /// The newest jobs in flight (at most 50), which can be cancelled.
    pub active: Vec<ActiveJobView>,
    /// Jobs created in each hour of the period, by the state they are in
    /// now, oldest hour first.
    pub history: Vec<HourView>,
    /// The jobs created in the period, by state.
    pub totals: StatusCountsView,
}

impl JobsOverview {
    pub fn new(queued: i64, running: i64, active: &[ActiveJob], history: &JobHistory) -> Self {
        Self {
            queued,
            running,
            active: active.iter().map(ActiveJobView::from).collect(),
            history: history.hours.iter().map(HourView::from).collect(),
            totals: StatusCountsView::from(&history.totals),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusCountsView {
    pub queued: i64,
    pub running: i64,
    pub completed: i64,
    pub failed: i64,
    pub cancelled: i64,
}

impl From<&StatusCounts> for StatusCountsView {
    fn from(c: &StatusCounts) -> Self {
        Self {
            queued: c.queued,
            running: c.running,
            completed: c.completed,
            failed: c.failed,
            cancelled: c.cancelled,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HourView {
    /// The start of the hour (UTC).
    pub hour: DateTime<Utc>,
    pub counts: StatusCountsView,
}

impl From<&HourOfJobs> for HourView {
    fn from(h: &HourOfJobs) -> Self {
        Self {
            hour: h.hour,
            counts: StatusCountsView::from(&h.counts),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveJobView {
    pub id: String,
    pub tenant: String,
    #[schema(example = "dub")]
    pub kind: String,
    #[schema(example = "running")]
    pub status: String,
    pub target_languages: Vec<String>,
    /// Mean progress of its tasks, 0 to 100.
    pub progress: f64,
    pub created_at: DateTime<Utc>,
}

impl From<&ActiveJob> for ActiveJobView {
    fn from(j: &ActiveJob) -> Self {
        Self {
            id: j.id.to_string(),
            tenant: j.tenant.clone(),
            kind: j.kind.as_str().to_owned(),
            status: j.status.as_str().to_owned(),
            target_languages: j.target_languages.clone(),
            progress: j.progress,
            created_at: j.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FailedTaskView {
    pub job_id: String,
    pub tenant: String,
    pub kind: String,
    pub language: String,
    /// The stage it failed at.
    pub stage: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub failed_at: DateTime<Utc>,
}

impl From<&FailedTask> for FailedTaskView {
    fn from(t: &FailedTask) -> Self {
        Self {
            job_id: t.job_id.to_string(),
            tenant: t.tenant.clone(),
            kind: t.kind.as_str().to_owned(),
            language: t.language.clone(),
            stage: t.stage.as_str().to_owned(),
            error_code: t.error_code.clone(),
            error_message: t.error_message.clone(),
            failed_at: t.failed_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantUsageView {
    pub tenant: String,
    /// Jobs created in the period.
    pub jobs: i64,
    /// Seconds of source media of those jobs.
    pub media_seconds: f64,
    /// Engine calls made in the period.
    pub engine_calls: i64,
    /// Of those, the calls that failed.
    pub failed_calls: i64,
    /// Estimated cost of the calls.
    pub cost_usd: f64,
}

impl From<&TenantUsage> for TenantUsageView {
    fn from(u: &TenantUsage) -> Self {
        Self {
            tenant: u.tenant.clone(),
            jobs: u.jobs,
            media_seconds: u.media_seconds,
            engine_calls: u.engine_calls,
            failed_calls: u.failed_calls,
            cost_usd: u.cost_usd,
        }
    }
}
