//! Jobs and their tasks: creation (with the first stage scheduled in the
//! same statement), reads scoped to a tenant, cancellation, retry, deletion.

use chrono::{DateTime, Utc};
use voxline_core::state::{EventKind, JobDelta, RunEvent, TaskEvent};
use voxline_core::{
    Credits, Dispatch, JobId, JobKind, JobOptions, JobStatus, Priority, Stage, StageRunId, TaskId,
    TaskStatus, TenantId, UploadId, task_stages,
};

use crate::error::{CancelError, CreateJobError, DeleteJobError, RetryError};
use crate::lock::{self, Locked};
use crate::pool::{execute, row, rows};
use crate::{Db, DbError, credits, events};

pub use crate::rows::{Job, Task};

/// What a client asked for, already validated.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Chosen by the caller: the existing frontend learns its job's id
    /// before the job exists (from its upload URLs).
    pub id: JobId,
    pub tenant_id: TenantId,
    pub kind: JobKind,
    pub source_upload_id: UploadId,
    pub background_upload_id: Option<UploadId>,
    pub source_language: String,
    pub target_languages: Vec<String>,
    pub options: JobOptions,
    pub publish: bool,
    pub duration: f64,
    pub priority: Priority,
    pub idempotency_key: Option<String>,
    /// A digest of the request, so a reused idempotency key with a different
    /// request is refused instead of silently answering the old job.
    pub request_hash: String,
    pub max_attempts: u32,
    /// Refuse the job when the tenant already has this many in flight.
    pub max_in_flight: Option<i64>,
    /// The price of each task's language, when credits are on: the job
    /// reserves their sum or is refused.
    pub prices: Option<Vec<(String, Credits)>>,
    /// The W3C traceparent of the creating request's span: every stage's
    /// span becomes its child. Empty for none.
    pub traceparent: String,
}

impl NewJob {
    /// Whether creating it must first look at the tenant (its in-flight
    /// limit, balance or priority allowance) under the tenant's lock.
    fn needs_admission(&self) -> bool {
        self.max_in_flight.is_some() || self.prices.is_some() || self.priority.level() > 0
    }

    /// The languages it has a task for: the targets, or the source for a transcript.
    fn task_languages(&self) -> Vec<String> {
        match self.kind {
            JobKind::Transcribe => vec![self.source_language.clone()],
            _ => self.target_languages.clone(),
        }
    }
}

/// The result of a creation call.
#[derive(Debug)]
pub struct Created {
    pub job: Job,
    /// False when an earlier request with the same idempotency key made it.
    pub created: bool,
    pub dispatch: Vec<Dispatch>,
}

/// Records a job, its tasks and its first stage run in one statement (with
/// the tenant's admission checked first, under its lock, when the job has
/// limits to respect). A repeated idempotency key returns the first job.
pub async fn create(db: &Db, new: &NewJob) -> Result<Created, CreateJobError> {
    let mut client = db.client().await?;
    if !new.needs_admission() {
        return match insert(&client, new).await? {
            Some(created) => Ok(created),
            None => earlier(&client, new).await,
        };
    }
    let tx = client.transaction().await.map_err(DbError::from)?;
    row(
        &tx,
        &query!("jobs/lock_tenant"),
        &[&new.tenant_id.to_string()],
    )
    .await?;
    let admit = row(
        &tx,
        &query!("jobs/admit"),
        &[&new.tenant_id, &new.idempotency_key],
    )
    .await?
    .ok_or(DbError::NotFound)?;
    if admit.try_get::<_, Option<uuid::Uuid>>("earlier")?.is_some() {
        return earlier(&tx, new).await;
    }
    if let Some(limit) = new.max_in_flight {
        let in_flight: i64 = admit.try_get("in_flight")?;
        if in_flight >= limit {
            return Err(CreateJobError::TooManyInFlight { in_flight, limit });
        }
    }
    let allowed: Priority = admit
        .try_get::<_, Option<Priority>>("max_priority")?
        .unwrap_or_default();
    if new.priority.level() > 0 && !new.priority.within(allowed) {
        return Err(CreateJobError::PriorityNotAllowed {
            asked: new.priority,
            allowed,
        });
    }
    let Some(created) = insert(&tx, new).await? else {
        return earlier(&tx, new).await;
    };
    if let Err((needed, available)) = credits::reserve(&tx, new.tenant_id, new.id).await? {
        return Err(CreateJobError::InsufficientCredits { needed, available });
    }
    tx.commit().await.map_err(DbError::from)?;
    Ok(created)
}

/// The one statement that makes a job; `None` when its idempotency key was taken.
async fn insert(
    client: &impl deadpool_postgres::GenericClient,
    new: &NewJob,
) -> Result<Option<Created>, DbError> {
    let stages = task_stages(new.kind, new.publish);
    let languages = new.task_languages();
    let task_ids: Vec<TaskId> = languages.iter().map(|_| TaskId::new()).collect();
    let prices: Vec<Option<i64>> = languages
        .iter()
        .map(|l| {
            new.prices
                .as_ref()
                .map(|prices| prices.iter().find(|(p, _)| p == l).map_or(0, |(_, c)| c.0))
        })
        .collect();
    let run = StageRunId::new();
    let first = stages[0];
    let options =
        serde_json::to_value(&new.options).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let Some(r) = row(
        client,
        &query!("jobs/create"),
        &[
            &new.id,
            &new.tenant_id,
            &new.kind,
            &new.source_upload_id,
            &new.background_upload_id,
            &new.source_language,
            &new.target_languages,
            &options,
            &new.publish,
            &new.idempotency_key,
            &new.request_hash,
            &new.duration,
            &new.traceparent,
            &new.priority,
            &task_ids,
            &languages,
            &stages,
            &TaskStatus::Pending,
            &format!("waiting to {first}"),
            &prices,
            &run,
            &new.source_language,
            &first,
            &voxline_core::StageRunStatus::Queued,
            &(new.max_attempts as i32),
            &EventKind::JobCreated,
        ],
    )
    .await?
    else {
        return Ok(None);
    };
    let job = crate::rows::job(&r)?;
    let dispatch = Dispatch {
        run_id: run,
        stage: first,
        attempt: 0,
        tenant: job.tenant_id,
        priority: job.priority,
        not_before: job.created_at,
        traceparent: job.traceparent.clone(),
    };
    Ok(Some(Created {
        job,
        created: true,
        dispatch: vec![dispatch],
    }))
}

/// The job an earlier request with `new`'s idempotency key made, if that
/// request was the same.
async fn earlier(
    client: &impl deadpool_postgres::GenericClient,
    new: &NewJob,
) -> Result<Created, CreateJobError> {
    let r = row(
        client,
        &query!("jobs/by_idempotency_key"),
        &[&new.tenant_id, &new.idempotency_key],
    )
    .await?
    .ok_or(DbError::NotFound)?;
    let hash: Option<String> = r.try_get("request_hash").map_err(DbError::from)?;
    if hash.as_deref() != Some(new.request_hash.as_str()) {
        return Err(CreateJobError::IdempotencyKeyReused);
    }
    Ok(Created {
        job: crate::rows::job(&r)?,
        created: false,
        dispatch: vec![],
    })
}

/// A job of `tenant`; another tenant's job is simply not found.
pub async fn get(db: &Db, tenant: TenantId, id: JobId) -> Result<Job, DbError> {
    let r = db
        .row(&query!("jobs/get"), &[&id, &tenant])
        .await?
        .ok_or(DbError::NotFound)?;
    crate::rows::job(&r)
}

/// Any job, for the system's own work (it acts on ids it made).
pub async fn get_any(db: &Db, id: JobId) -> Result<Job, DbError> {
    let r = db
        .row(&query!("jobs/get_any"), &[&id])
        .await?
        .ok_or(DbError::NotFound)?;
    crate::rows::job(&r)
}

/// A page of a tenant's jobs, newest first. `before` is the cursor: the
/// (created_at, id) of the last job of the previous page.
pub async fn list(
    db: &Db,
    tenant: TenantId,
    status: Option<JobStatus>,
    before: Option<(DateTime<Utc>, JobId)>,
    limit: i64,
) -> Result<Vec<Job>, DbError> {
    let (at, id) = before.unzip();
    db.rows(&query!("jobs/list"), &[&tenant, &status, &at, &id, &limit])
        .await?
        .iter()
        .map(crate::rows::job)
        .collect()
}

/// The tasks of a job, in the order the client listed the languages.
pub async fn tasks(
    client: &impl deadpool_postgres::GenericClient,
    job: JobId,
) -> Result<Vec<Task>, DbError> {
    rows(client, &query!("jobs/tasks"), &[&job])
        .await?
        .iter()
        .map(crate::rows::task)
        .collect()
}

/// The tasks of several jobs at once (listings).
pub async fn tasks_of(db: &Db, jobs: &[JobId]) -> Result<Vec<Task>, DbError> {
    db.rows(&query!("jobs/tasks_of"), &[&jobs])
        .await?
        .iter()
        .map(crate::rows::task)
        .collect()
}

/// Cancels a job: every task and stage run not yet final becomes cancelled,
/// so nothing further is dispatched and running workers lose their lease
/// (they notice at their next renewal and stop their child processes).
pub async fn cancel(db: &Db, tenant: Option<TenantId>, id: JobId) -> Result<(), CancelError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(DbError::from)?;
    let locked = lock::job(&tx, tenant, id)
        .await?
        .ok_or(CancelError::NotFound)?;
    if locked.job.status.is_final() {
        return Err(CancelError::AlreadyEnded);
    }
    let runs: Vec<StageRunId> = locked.runs_where(RunEvent::Cancel);
    move_runs(&tx, id, &runs, RunEvent::Cancel, false).await?;
    let (tasks, delta) = locked.tasks_where(TaskEvent::Cancel);
    move_tasks(&tx, id, &tasks, TaskEvent::Cancel, "cancelled", None).await?;
    move_counts(&tx, id, delta).await?;
    events::record(
        &tx,
        id,
        EventKind::JobCancelled,
        None,
        None,
        serde_json::json!({}),
    )
    .await?;
    credits::settle(&tx, id).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}

/// Resumes a job's failed tasks from the stage that failed: those runs are
/// queued again with fresh attempts (failures and worker losses counted
/// anew); finished stages and their files stay as they are. Returns the
/// dispatches to send.
pub async fn retry(
    db: &Db,
    tenant: Option<TenantId>,
    id: JobId,
) -> Result<Vec<Dispatch>, RetryError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(DbError::from)?;
    let locked = lock::job(&tx, tenant, id)
        .await?
        .ok_or(RetryError::NotFound)?;
    let runs = locked.runs_where(RunEvent::Retry);
    if runs.is_empty() {
        return Err(RetryError::NothingToRetry);
    }
    let moved = move_runs(&tx, id, &runs, RunEvent::Retry, true).await?;
    let (tasks, delta) = locked.tasks_where(TaskEvent::Retry);
    move_tasks(&tx, id, &tasks, TaskEvent::Retry, "retrying", None).await?;
    move_counts(&tx, id, delta).await?;
    if let Err((needed, available)) = credits::reserve(&tx, locked.job.tenant_id, id).await? {
        return Err(RetryError::InsufficientCredits { needed, available });
    }
    events::record(
        &tx,
        id,
        EventKind::JobRetried,
        None,
        None,
        serde_json::json!({ "stages": moved.len() }),
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(moved
        .into_iter()
        .map(|(run, stage, attempt)| locked.dispatch(run, stage, attempt))
        .collect())
}

/// Moves runs of a locked job by a change made outside the workers.
pub(crate) async fn move_runs(
    tx: &impl deadpool_postgres::GenericClient,
    job: JobId,
    runs: &[StageRunId],
    event: RunEvent,
    afresh: bool,
) -> Result<Vec<(StageRunId, Stage, i32)>, DbError> {
    if runs.is_empty() {
        return Ok(vec![]);
    }
    let to = event.to();
    rows(
        tx,
        &query!("jobs/move_runs"),
        &[&job, &runs, &to, &to.is_final(), &afresh],
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get("id")?, r.try_get("stage")?, r.try_get("attempt")?)))
    .collect()
}

/// Moves tasks of a locked job by a change made outside the workers.
pub(crate) async fn move_tasks(
    tx: &impl deadpool_postgres::GenericClient,
    job: JobId,
    tasks: &[TaskId],
    event: TaskEvent,
    message: &str,
    resume: Option<(Stage, f64)>,
) -> Result<(), DbError> {
    if tasks.is_empty() {
        return Ok(());
    }
    let to = event.to();
    let (stage, progress) = resume.unzip();
    execute(
        tx,
        &query!("jobs/move_tasks"),
        &[
            &job,
            &tasks,
            &to,
            &message,
            &to.is_final(),
            &(event == TaskEvent::Retry),
            &stage,
            &progress,
        ],
    )
    .await?;
    Ok(())
}

/// Moves a job's task counts; records its end (the event) when it ends.
pub(crate) async fn move_counts(
    tx: &impl deadpool_postgres::GenericClient,
    job: JobId,
    delta: JobDelta,
) -> Result<(), DbError> {
    if delta.is_zero() {
        return Ok(());
    }
    let r = row(
        tx,
        &query!("jobs/move_counts"),
        &[&job, &delta.open, &delta.failed, &delta.cancelled],
    )
    .await?
    .ok_or(DbError::NotFound)?;
    let status: JobStatus = r.try_get("status")?;
    // A cancellation tells its own event.
    if r.try_get::<_, bool>("ended")?
        && status != JobStatus::Cancelled
        && let Some(kind) = EventKind::job_ended(status)
    {
        events::record(tx, job, kind, None, None, serde_json::json!({})).await?;
    }
    Ok(())
}

impl Locked {
    /// The ids of the runs `event` applies to.
    fn runs_where(&self, event: RunEvent) -> Vec<StageRunId> {
        self.runs
            .iter()
            .filter(|r| event.apply(r.status).is_ok())
            .map(|r| r.id)
            .collect()
    }

    /// The ids of the tasks `event` applies to, and how the job's counts move.
    fn tasks_where(&self, event: TaskEvent) -> (Vec<TaskId>, JobDelta) {
        let mut delta = JobDelta::default();
        let mut ids = Vec::new();
        for t in &self.tasks {
            if let Ok(to) = event.apply(t.status) {
                delta = delta.plus(JobDelta::of(t.status, to));
                ids.push(t.id);
            }
        }
        (ids, delta)
    }
}

/// The object keys of the uploads only this job uses: what deleting the
/// job leaves unused (its own files are under its job prefix).
pub async fn exclusive_upload_keys(db: &Db, id: JobId) -> Result<Vec<String>, DbError> {
    db.rows(&query!("jobs/exclusive_upload_keys"), &[&id])
        .await?
        .iter()
        .map(|r| Ok(r.try_get("object_key")?))
        .collect()
}

/// Deletes an ended job of `tenant`, everything recorded about it, and the
/// uploads no other job uses. The caller deletes the objects first (the
/// job's prefix and [`exclusive_upload_keys`]), so a crash in between
/// leaves rows to delete again, never objects nobody knows of. A running
/// job is refused: cancel it first.
pub async fn delete_ended(db: &Db, tenant: TenantId, id: JobId) -> Result<(), DeleteJobError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(DbError::from)?;
    let r = row(&tx, &query!("jobs/lock_for_delete"), &[&id, &tenant])
        .await?
        .ok_or(DeleteJobError::NotFound)?;
    let status: JobStatus = r.try_get("status").map_err(DbError::from)?;
    if !status.is_final() {
        return Err(DeleteJobError::StillRunning);
    }
    let uploads: Vec<UploadId> = [
        r.try_get("source_upload_id").map_err(DbError::from)?,
        r.try_get::<_, Option<UploadId>>("background_upload_id")
            .map_err(DbError::from)?,
    ]
    .into_iter()
    .flatten()
    .collect();
    execute(&tx, &query!("jobs/delete"), &[&id, &uploads]).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}

/// Cancelled jobs whose files have not been deleted yet, cancelled more than
/// `grace_s` seconds ago (long enough for any stage that was running to have
/// noticed and stopped writing).
pub async fn cancelled_uncleaned(db: &Db, grace_s: f64, limit: i64) -> Result<Vec<JobId>, DbError> {
    db.rows(
        &query!("jobs/cancelled_uncleaned"),
        &[&grace_s, &limit, &JobStatus::Cancelled],
    )
    .await?
    .iter()
    .map(|r| Ok(r.try_get("id")?))
    .collect()
}

/// Records that a cancelled job's files are gone, and forgets its artifacts.
pub async fn mark_cleaned(db: &Db, id: JobId) -> Result<(), DbError> {
    db.execute(&query!("jobs/mark_cleaned"), &[&id]).await?;
    Ok(())
}
