//! Jobs and their tasks: creation (with the first stage scheduled in the same
//! transaction), reads scoped to a tenant, cancellation, status roll-up.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use voxline_core::{
    Credits, JobId, JobKind, JobOptions, JobStatus, Stage, TaskId, TaskStatus, TenantId, UploadId,
    task_stages,
};

use crate::outbox::{self, Dispatch};
use crate::{Db, DbError, events};

#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub tenant_id: TenantId,
    pub kind: JobKind,
    pub status: JobStatus,
    pub source_upload_id: UploadId,
    pub background_upload_id: Option<UploadId>,
    pub source_language: String,
    pub target_languages: Vec<String>,
    pub options: JobOptions,
    pub publish: bool,
    pub duration: f64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct Task {
    pub id: TaskId,
    pub job_id: JobId,
    pub language: String,
    pub status: TaskStatus,
    pub stage: Stage,
    pub stages: Vec<Stage>,
    pub progress: f64,
    pub message: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub stats: Option<serde_json::Value>,
    /// The language's price, when credits are on.
    pub credits: Option<Credits>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

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
    pub idempotency_key: Option<String>,
    /// A digest of the request, so a reused idempotency key with a different
    /// request is refused instead of silently answering the old job.
    pub request_hash: String,
    pub max_attempts: u32,
    /// Refuse the job when the tenant already has this many queued or running.
    pub max_in_flight: Option<i64>,
    /// The price of each task's language, when credits are on: the job
    /// reserves their sum or is refused.
    pub prices: Option<Vec<(String, Credits)>>,
    /// The W3C traceparent of the creating request's span: every stage's
    /// span becomes its child. Empty for none.
    pub traceparent: String,
}

/// The result of a creation call.
pub struct Created {
    pub job: Job,
    /// False when an earlier request with the same idempotency key made it.
    pub created: bool,
    pub dispatch: Vec<Dispatch>,
}

const JOB_COLUMNS: &str = "id, tenant_id, kind, status, source_upload_id, background_upload_id,
    source_language, target_languages, options, publish, duration_s, created_at, updated_at,
    started_at, finished_at";

const TASK_COLUMNS: &str = "id, job_id, language, status, stage, stages, progress, message,
    error_code, error_message, stats, created_at, updated_at, started_at, finished_at, credits";

/// Records a job, its tasks and its first stage run, and queues the dispatch,
/// all in one transaction. A repeated idempotency key returns the first job.
pub async fn create(db: &Db, new: &NewJob) -> Result<Created, DbError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    // One creation at a time per tenant, so the idempotency check and the
    // in-flight limit hold under concurrent (retried) requests.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7262))",
        &[&new.tenant_id.to_string()],
    )
    .await?;
    if let Some(key) = &new.idempotency_key {
        let earlier = tx
            .query_opt(
                &format!("SELECT {JOB_COLUMNS}, request_hash FROM jobs WHERE tenant_id = $1 AND idempotency_key = $2"),
                &[&new.tenant_id.0, key],
            )
            .await?;
        if let Some(row) = earlier {
            let hash: Option<String> = row.get("request_hash");
            if hash.as_deref() != Some(new.request_hash.as_str()) {
                return Err(DbError::Conflict(
                    "this Idempotency-Key was already used for a different request".into(),
                ));
            }
            return Ok(Created {
                job: job_from_row(&row)?,
                created: false,
                dispatch: vec![],
            });
        }
    }
    if let Some(limit) = new.max_in_flight {
        let in_flight: i64 = tx
            .query_one("SELECT count(*) FROM jobs WHERE tenant_id = $1 AND status IN ('queued', 'running')", &[&new.tenant_id.0])
            .await?
            .get(0);
        if in_flight >= limit {
            return Err(DbError::LimitReached(format!(
                "{in_flight} of your jobs are still queued or running (the limit is {limit}); try again when some have finished"
            )));
        }
    }
    let id = new.id;
    tx.execute(
        "INSERT INTO jobs (id, tenant_id, kind, status, source_upload_id, background_upload_id,
                           source_language, target_languages, options, publish,
                           idempotency_key, request_hash, duration_s, traceparent)
         VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        &[
            &id.0,
            &new.tenant_id.0,
            &new.kind.as_str(),
            &new.source_upload_id.0,
            &new.background_upload_id.map(|u| u.0),
            &new.source_language,
            &new.target_languages,
            &serde_json::to_value(&new.options).expect("options serialize"),
            &new.publish,
            &new.idempotency_key,
            &new.request_hash,
            &new.duration,
            &new.traceparent,
        ],
    )
    .await?;

    let stages = task_stages(new.kind, new.publish);
    let stage_words: Vec<&str> = stages.iter().map(|s| s.as_str()).collect();
    let task_languages = match new.kind {
        JobKind::Transcribe => vec![new.source_language.clone()],
        _ => new.target_languages.clone(),
    };
    for language in &task_languages {
        let price = new.prices.as_ref().map(|prices| {
            prices
                .iter()
                .find(|(l, _)| l == language)
                .map_or(0, |(_, p)| p.0)
        });
        tx.execute(
            "INSERT INTO tasks (id, job_id, language, status, stage, stages, message, credits)
             VALUES ($1, $2, $3, 'pending', $4, $5, 'waiting for transcription', $6)",
            &[
                &TaskId::new().0,
                &id.0,
                language,
                &stages[0].as_str(),
                &stage_words,
                &price,
            ],
        )
        .await?;
    }
    crate::credits::reserve(&tx, new.tenant_id, id).await?;
    let dispatch = crate::runs::schedule(
        &tx,
        id,
        &new.source_language,
        Stage::Transcribe,
        new.max_attempts,
    )
    .await?;
    events::record(&tx, id, "job_created", None, None, serde_json::json!({})).await?;
    let row = tx
        .query_one(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
            &[&id.0],
        )
        .await?;
    let job = job_from_row(&row)?;
    tx.commit().await?;
    Ok(Created {
        job,
        created: true,
        dispatch: dispatch.into_iter().collect(),
    })
}

/// A job of `tenant`; another tenant's job is simply not found.
pub async fn get(db: &Db, tenant: TenantId, id: JobId) -> Result<Job, DbError> {
    let row = db
        .client()
        .await?
        .query_opt(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND tenant_id = $2"),
            &[&id.0, &tenant.0],
        )
        .await?
        .ok_or(DbError::NotFound)?;
    job_from_row(&row)
}

/// Any job, for workers (they act on ids they were given by the system).
pub async fn get_any(client: &impl GenericClient, id: JobId) -> Result<Job, DbError> {
    let row = client
        .query_opt(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
            &[&id.0],
        )
        .await?
        .ok_or(DbError::NotFound)?;
    job_from_row(&row)
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
    let (before_at, before_id) = match before {
        Some((at, id)) => (Some(at), Some(id.0)),
        None => (None, None),
    };
    let rows = db
        .client()
        .await?
        .query(
            &format!(
                "SELECT {JOB_COLUMNS} FROM jobs
                 WHERE tenant_id = $1
                   AND ($2::text IS NULL OR status = $2)
                   AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
                 ORDER BY created_at DESC, id DESC
                 LIMIT $5"
            ),
            &[
                &tenant.0,
                &status.map(|s| s.as_str()),
                &before_at,
                &before_id,
                &limit,
            ],
        )
        .await?;
    rows.iter().map(job_from_row).collect()
}

/// The tasks of a job, in the order the client listed the languages.
pub async fn tasks(client: &impl GenericClient, job: JobId) -> Result<Vec<Task>, DbError> {
    let rows = client
        .query(
            &format!(
                "SELECT {TASK_COLUMNS} FROM tasks t WHERE job_id = $1
                 ORDER BY array_position((SELECT target_languages FROM jobs WHERE id = $1), t.language), language"
            ),
            &[&job.0],
        )
        .await?;
    rows.iter().map(task_from_row).collect()
}

/// The tasks of several jobs at once (listings).
pub async fn tasks_of(db: &Db, jobs: &[JobId]) -> Result<Vec<Task>, DbError> {
    let ids: Vec<uuid::Uuid> = jobs.iter().map(|j| j.0).collect();
    let rows = db
        .client()
        .await?
        .query(
            &format!(
                "SELECT {TASK_COLUMNS} FROM tasks WHERE job_id = ANY($1) ORDER BY job_id, language"
            ),
            &[&ids],
        )
        .await?;
    rows.iter().map(task_from_row).collect()
}

/// Cancels a job: every task and stage run not yet final becomes cancelled,
/// so nothing further is dispatched and running workers lose their lease
/// (they notice at their next heartbeat and stop their child processes).
/// Returns false when the job had already ended.
pub async fn cancel(db: &Db, tenant: TenantId, id: JobId) -> Result<bool, DbError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    let status = lock_job(&tx, tenant, id).await?;
    if status.is_final() {
        return Ok(false);
    }
    tx.execute(
        "UPDATE stage_runs SET status = 'cancelled', lease_owner = NULL, finished_at = now()
         WHERE job_id = $1 AND status IN ('queued', 'running')",
        &[&id.0],
    )
    .await?;
    tx.execute(
        "UPDATE tasks SET status = 'cancelled', message = 'cancelled', updated_at = now(),
                          finished_at = now()
         WHERE job_id = $1 AND status IN ('pending', 'running')",
        &[&id.0],
    )
    .await?;
    tx.execute(
        "UPDATE jobs SET status = 'cancelled', updated_at = now(), finished_at = now() WHERE id = $1",
        &[&id.0],
    )
    .await?;
    tx.execute(
        "DELETE FROM outbox WHERE stage_run_id IN (SELECT id FROM stage_runs WHERE job_id = $1)",
        &[&id.0],
    )
    .await?;
    events::record(&tx, id, "job_cancelled", None, None, serde_json::json!({})).await?;
    crate::credits::settle(&tx, id).await?;
    tx.commit().await?;
    Ok(true)
}

/// The object keys of the uploads only this job uses: what deleting the
/// job leaves unused (its own files are under its job prefix).
pub async fn exclusive_upload_keys(db: &Db, id: JobId) -> Result<Vec<String>, DbError> {
    let rows = db
        .client()
        .await?
        .query(
            "SELECT u.object_key FROM uploads u JOIN jobs j
               ON u.id = j.source_upload_id OR u.id = j.background_upload_id
             WHERE j.id = $1
               AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.id <> $1
                               AND (o.source_upload_id = u.id OR o.background_upload_id = u.id))",
            &[&id.0],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Deletes an ended job of `tenant`, everything recorded about it, and the
/// uploads no other job uses. The caller deletes the objects first (the
/// job's prefix and [`exclusive_upload_keys`]), so a crash in between
/// leaves rows to delete again, never objects nobody knows of. A running
/// job is a conflict: cancel it first.
pub async fn delete_ended(db: &Db, tenant: TenantId, id: JobId) -> Result<(), DbError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    let row = tx
        .query_opt(
            "SELECT status, source_upload_id, background_upload_id FROM jobs
             WHERE id = $1 AND tenant_id = $2 FOR UPDATE",
            &[&id.0, &tenant.0],
        )
        .await?
        .ok_or(DbError::NotFound)?;
    if !JobStatus::parse(row.get(0))?.is_final() {
        return Err(DbError::Conflict(
            "the job is still running; cancel it first".into(),
        ));
    }
    let uploads: Vec<uuid::Uuid> = [row.get(1), row.get::<_, Option<uuid::Uuid>>(2)]
        .into_iter()
        .flatten()
        .collect();
    tx.execute("DELETE FROM jobs WHERE id = $1", &[&id.0])
        .await?;
    tx.execute(
        "DELETE FROM uploads u WHERE u.id = ANY($1)
           AND NOT EXISTS (SELECT 1 FROM jobs j
                           WHERE j.source_upload_id = u.id OR j.background_upload_id = u.id)",
        &[&uploads],
    )
    .await?;
    tx.execute("DELETE FROM job_drafts WHERE job_id = $1", &[&id.0])
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Locks a tenant's job for a change made outside the workers (cancel, an
/// edit) and answers its status; `NotFound` for another tenant's job. The
/// rows are locked in the order every worker transaction takes (runs,
/// tasks, then the job), or such a change racing a claim or a commit
/// deadlocks with it.
pub(crate) async fn lock_job(
    tx: &impl GenericClient,
    tenant: TenantId,
    id: JobId,
) -> Result<JobStatus, DbError> {
    tx.query_opt(
        "SELECT 1 FROM jobs WHERE id = $1 AND tenant_id = $2",
        &[&id.0, &tenant.0],
    )
    .await?
    .ok_or(DbError::NotFound)?;
    for rows in ["stage_runs", "tasks"] {
        tx.query(
            &format!("SELECT 1 FROM {rows} WHERE job_id = $1 ORDER BY id FOR UPDATE"),
            &[&id.0],
        )
        .await?;
    }
    let row = tx
        .query_one("SELECT status FROM jobs WHERE id = $1 FOR UPDATE", &[&id.0])
        .await?;
    Ok(JobStatus::parse(row.get(0))?)
}

/// Rolls the tasks' states up into the job's, recording the job's end.
pub(crate) async fn refresh_status(
    tx: &impl GenericClient,
    id: JobId,
) -> Result<JobStatus, DbError> {
    let rows = tx
        .query("SELECT status FROM tasks WHERE job_id = $1", &[&id.0])
        .await?;
    let tasks = rows
        .iter()
        .map(|r| TaskStatus::parse(r.get(0)))
        .collect::<Result<Vec<_>, _>>()?;
    let status = JobStatus::from_tasks(&tasks);
    let changed = tx
        .execute(
            "UPDATE jobs SET status = $2, updated_at = now(),
                    started_at = CASE WHEN $2 <> 'queued' THEN coalesce(started_at, now()) END,
                    finished_at = CASE WHEN $3 THEN coalesce(finished_at, now()) END
             WHERE id = $1 AND status <> $2",
            &[&id.0, &status.as_str(), &status.is_final()],
        )
        .await?;
    if changed > 0 && status.is_final() {
        let kind = format!("job_{}", status.as_str());
        events::record(tx, id, &kind, None, None, serde_json::json!({})).await?;
    }
    // A task may end while others run on: settle each as it ends.
    crate::credits::settle(tx, id).await?;
    Ok(status)
}

pub(crate) fn job_from_row(row: &Row) -> Result<Job, DbError> {
    Ok(Job {
        id: JobId(row.get("id")),
        tenant_id: TenantId(row.get("tenant_id")),
        kind: JobKind::parse(row.get("kind"))?,
        status: JobStatus::parse(row.get("status"))?,
        source_upload_id: UploadId(row.get("source_upload_id")),
        background_upload_id: row
            .get::<_, Option<uuid::Uuid>>("background_upload_id")
            .map(UploadId),
        source_language: row.get("source_language"),
        target_languages: row.get("target_languages"),
        options: serde_json::from_value(row.get("options"))
            .map_err(|e| DbError::Corrupt(format!("job options: {e}")))?,
        publish: row.get("publish"),
        duration: row.get("duration_s"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        started_at: row.get("started_at"),
        finished_at: row.get("finished_at"),
    })
}

fn task_from_row(row: &Row) -> Result<Task, DbError> {
    let stages: Vec<String> = row.get("stages");
    Ok(Task {
        id: TaskId(row.get("id")),
        job_id: JobId(row.get("job_id")),
        language: row.get("language"),
        status: TaskStatus::parse(row.get("status"))?,
        stage: Stage::parse(row.get("stage"))?,
        stages: stages
            .iter()
            .map(|s| Stage::parse(s))
            .collect::<Result<_, _>>()?,
        progress: row.get("progress"),
        message: row.get("message"),
        error_code: row.get("error_code"),
        error_message: row.get("error_message"),
        stats: row.get("stats"),
        credits: row.get::<_, Option<i64>>("credits").map(Credits),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        started_at: row.get("started_at"),
        finished_at: row.get("finished_at"),
    })
}

/// Resumes a job's failed tasks from the stage that failed: those runs are
/// queued again with fresh attempts; finished stages and their artifacts
/// stay as they are. Returns the dispatches to send.
pub async fn retry(db: &Db, tenant: TenantId, id: JobId) -> Result<Vec<Dispatch>, DbError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    tx.query_opt(
        "SELECT 1 FROM jobs WHERE id = $1 AND tenant_id = $2 FOR UPDATE",
        &[&id.0, &tenant.0],
    )
    .await?
    .ok_or(DbError::NotFound)?;
    let failed = tx
        .query(
            "UPDATE stage_runs SET status = 'queued', failures = 0, error_code = NULL, error_message = NULL,
                    run_after = now(), finished_at = NULL
             WHERE job_id = $1 AND status = 'failed'
             RETURNING id, stage, attempt",
            &[&id.0],
        )
        .await?;
    if failed.is_empty() {
        return Err(DbError::Conflict(
            "the job has no failed stage to retry".into(),
        ));
    }
    let mut dispatch = Vec::with_capacity(failed.len());
    for row in &failed {
        let stage = Stage::parse(row.get(1))?;
        dispatch.push(
            outbox::push(
                &tx,
                voxline_core::StageRunId(row.get(0)),
                stage,
                row.get(2),
                chrono::Utc::now(),
            )
            .await?,
        );
    }
    tx.execute(
        "UPDATE tasks SET status = 'running', error_code = NULL, error_message = NULL, message = 'retrying',
                          finished_at = NULL, updated_at = now(), credit_round = credit_round + 1
         WHERE job_id = $1 AND status = 'failed'",
        &[&id.0],
    )
    .await?;
    crate::credits::reserve(&tx, tenant, id).await?;
    events::record(
        &tx,
        id,
        "job_retried",
        None,
        None,
        serde_json::json!({ "stages": failed.len() }),
    )
    .await?;
    refresh_status(&tx, id).await?;
    tx.commit().await?;
    Ok(dispatch)
}

/// Cancelled jobs whose files have not been deleted yet, cancelled more than
/// `grace_s` seconds ago (long enough for any stage that was running to have
/// noticed and stopped writing).
pub async fn cancelled_uncleaned(db: &Db, grace_s: f64, limit: i64) -> Result<Vec<JobId>, DbError> {
    let rows = db
        .client()
        .await?
        .query(
            "SELECT id FROM jobs
             WHERE status = 'cancelled' AND cleaned_at IS NULL
               AND finished_at < now() - $1::float8 * interval '1 second'
             ORDER BY finished_at LIMIT $2",
            &[&grace_s, &limit],
        )
        .await?;
    Ok(rows.iter().map(|r| JobId(r.get(0))).collect())
}

/// Records that a cancelled job's files are gone, and forgets its artifacts.
pub async fn mark_cleaned(db: &Db, id: JobId) -> Result<(), DbError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    tx.execute("DELETE FROM artifacts WHERE job_id = $1", &[&id.0])
        .await?;
    tx.execute("UPDATE jobs SET cleaned_at = now() WHERE id = $1", &[&id.0])
        .await?;
    tx.commit().await?;
    Ok(())
}
