//! Jobs and their tasks: reads scoped to a tenant, cancellation, retry,
//! deletion. Creation is `creation.rs`.

use chrono::{DateTime, Utc};
use voxline_core::state::{EventKind, JobDelta, RunEvent, TaskEvent};
use voxline_core::{Dispatch, JobId, JobStatus, Stage, StageRunId, TaskId, TenantId, UploadId};

use crate::error::{CancelError, DeleteJobError, RetryError};
use crate::lock::{self, Locked};
use crate::pool::{execute, row, rows};
use crate::{Db, DbError, credits, events};

pub use crate::creation::{Created, Creator, NewJob, create};
pub use crate::rows::{Job, Task};

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
    db.execute(
        &query!("jobs/mark_cleaned"),
        &[&id, &EventKind::FilesRemoved],
    )
    .await?;
    Ok(())
}
