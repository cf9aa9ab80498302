//! Artifacts: files a stage produced, at deterministic object keys, with an
//! expiry after which the janitor deletes them. A stage's artifacts are
//! recorded with its outcome (`queries/runs/apply.sql`).

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use voxline_core::{JobId, TenantId};

use crate::pool::rows;
use crate::{Db, DbError};

#[derive(Debug, Clone, serde::Deserialize)]
pub struct Artifact {
    pub id: uuid::Uuid,
    pub job_id: JobId,
    pub language: String,
    pub stage: String,
    pub kind: String,
    pub object_key: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub engine: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A file a stage wrote, to be recorded with the stage's commit.
#[derive(Debug, Clone)]
pub struct NewArtifact {
    pub kind: String,
    pub object_key: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
}

/// The artifacts of a job (workers read their inputs through this).
pub async fn for_job(client: &impl GenericClient, job: JobId) -> Result<Vec<Artifact>, DbError> {
    rows(client, &query!("artifacts/for_job"), &[&job])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// The artifacts of several jobs at once (listings).
pub async fn for_jobs(db: &Db, jobs: &[JobId]) -> Result<Vec<Artifact>, DbError> {
    db.rows(&query!("artifacts/for_jobs"), &[&jobs])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// A tenant's most recent artifacts of the given kinds, newest first, each
/// with its job's title (the name of the file the job was made from).
pub async fn recent_downloads(
    db: &Db,
    tenant: TenantId,
    kinds: &[&str],
    limit: i64,
) -> Result<Vec<(Artifact, String)>, DbError> {
    db.rows(
        &query!("artifacts/recent_downloads"),
        &[&tenant, &kinds, &limit],
    )
    .await?
    .iter()
    .map(|r| Ok((from_row(r)?, r.try_get("job_title")?)))
    .collect()
}

/// One artifact of a tenant's job; another tenant's is not found.
pub async fn get(db: &Db, tenant: TenantId, id: uuid::Uuid) -> Result<Artifact, DbError> {
    let row = db
        .row(&query!("artifacts/get"), &[&id, &tenant])
        .await?
        .ok_or(DbError::NotFound)?;
    from_row(&row)
}

/// Artifacts whose time is up, for the janitor to delete.
pub async fn expired(db: &Db, limit: i64) -> Result<Vec<Artifact>, DbError> {
    db.rows(&query!("artifacts/expired"), &[&limit])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Forgets an artifact whose object was deleted (an event tells the job's
/// readers).
pub async fn delete(db: &Db, id: uuid::Uuid) -> Result<(), DbError> {
    db.execute(
        &query!("artifacts/delete"),
        &[&id, &voxline_core::state::EventKind::FilesRemoved],
    )
    .await?;
    Ok(())
}

/// An artifact from a row holding its columns under their own names.
pub(crate) fn from_row(r: &Row) -> Result<Artifact, DbError> {
    Ok(Artifact {
        id: r.try_get("id")?,
        job_id: r.try_get("job_id")?,
        language: r.try_get("language")?,
        stage: r.try_get("stage")?,
        kind: r.try_get("kind")?,
        object_key: r.try_get("object_key")?,
        file_name: r.try_get("file_name")?,
        content_type: r.try_get("content_type")?,
        size_bytes: r.try_get("size_bytes")?,
        engine: r.try_get("engine")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
    })
}
