//! Jobs and tasks as rows read them, by column name. Shared by every module
//! that reads them, so none imports another for it.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use voxline_core::{
    Credits, JobId, JobKind, JobOptions, JobStatus, Priority, Stage, TaskId, TaskStatus, TenantId,
    UploadId,
};

use crate::DbError;

/// A job as stored; also read as JSON, by field name
/// (`queries/snapshots/read.sql`).
#[derive(Debug, Clone, serde::Deserialize)]
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
    pub priority: Priority,
    /// The W3C traceparent of the request that created the job.
    pub traceparent: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, serde::Deserialize)]
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

/// A job from a row holding the job's columns under their own names.
pub(crate) fn job(row: &Row) -> Result<Job, DbError> {
    Ok(Job {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        kind: row.try_get("kind")?,
        status: row.try_get("status")?,
        source_upload_id: row.try_get("source_upload_id")?,
        background_upload_id: row.try_get("background_upload_id")?,
        source_language: row.try_get("source_language")?,
        target_languages: row.try_get("target_languages")?,
        options: serde_json::from_value(row.try_get("options")?)
            .map_err(|e| DbError::Corrupt(format!("job options: {e}")))?,
        publish: row.try_get("publish")?,
        duration: row.try_get("duration_s")?,
        priority: row.try_get("priority")?,
        traceparent: row.try_get("traceparent")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

/// A task from a row holding the task's columns under their own names.
pub(crate) fn task(row: &Row) -> Result<Task, DbError> {
    Ok(Task {
        id: row.try_get("id")?,
        job_id: row.try_get("job_id")?,
        language: row.try_get("language")?,
        status: row.try_get("status")?,
        stage: row.try_get("stage")?,
        stages: row.try_get("stages")?,
        progress: row.try_get("progress")?,
        message: row.try_get("message")?,
        error_code: row.try_get("error_code")?,
        error_message: row.try_get("error_message")?,
        stats: row.try_get("stats")?,
        credits: row.try_get::<_, Option<i64>>("credits")?.map(Credits),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}
