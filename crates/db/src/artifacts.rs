//! Artifacts: files a stage produced, at deterministic object keys, with an
//! expiry after which the janitor deletes them.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use voxline_core::{JobId, TenantId};

use crate::{Db, DbError};

#[derive(Debug, Clone)]
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

const COLUMNS: &str = "a.id, a.job_id, a.language, a.stage, a.kind, a.object_key, a.file_name,
    a.content_type, a.size_bytes, a.engine, a.created_at, a.expires_at";

/// Records (or, on a re-run, replaces) the artifacts of a stage.
pub(crate) async fn upsert(
    tx: &impl GenericClient,
    job: JobId,
    language: &str,
    stage: &str,
    engine: Option<&str>,
    ttl_hours: f64,
    items: &[NewArtifact],
) -> Result<(), DbError> {
    for a in items {
        tx.execute(
            "INSERT INTO artifacts (id, job_id, language, stage, kind, object_key, file_name,
                                    content_type, size_bytes, engine, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                     now() + $11::float8 * interval '1 hour')
             ON CONFLICT (job_id, language, kind) DO UPDATE
             SET object_key = EXCLUDED.object_key, file_name = EXCLUDED.file_name,
                 content_type = EXCLUDED.content_type, size_bytes = EXCLUDED.size_bytes,
                 engine = EXCLUDED.engine, stage = EXCLUDED.stage,
                 created_at = now(),
                 -- A file held for a later publishing time keeps that lifetime.
                 expires_at = greatest(artifacts.expires_at, EXCLUDED.expires_at)",
            &[
                &uuid::Uuid::now_v7(),
                &job.0,
                &language,
                &stage,
                &a.kind,
                &a.object_key,
                &a.file_name,
                &a.content_type,
                &a.size_bytes,
                &engine,
                &ttl_hours,
            ],
        )
        .await?;
    }
    Ok(())
}

/// The artifacts of a job (workers read their inputs through this).
pub async fn for_job(client: &impl GenericClient, job: JobId) -> Result<Vec<Artifact>, DbError> {
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM artifacts a WHERE a.job_id = $1
                 ORDER BY a.language, a.created_at, a.kind"
            ),
            &[&job.0],
        )
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// The artifacts of several jobs at once (listings).
pub async fn for_jobs(db: &Db, jobs: &[JobId]) -> Result<Vec<Artifact>, DbError> {
    let ids: Vec<uuid::Uuid> = jobs.iter().map(|j| j.0).collect();
    let rows = db
        .client()
        .await?
        .query(
            &format!(
                "SELECT {COLUMNS} FROM artifacts a WHERE a.job_id = ANY($1)
                 ORDER BY a.job_id, a.language, a.kind"
            ),
            &[&ids],
        )
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// A tenant's most recent artifacts of the given kinds, newest first.
pub async fn recent_for_tenant(
    db: &Db,
    tenant: TenantId,
    kinds: &[&str],
    limit: i64,
) -> Result<Vec<Artifact>, DbError> {
    let rows = db
        .client()
        .await?
        .query(
            &format!(
                "SELECT {COLUMNS} FROM artifacts a JOIN jobs j ON j.id = a.job_id
                 WHERE j.tenant_id = $1 AND a.kind = ANY($2)
                 ORDER BY a.created_at DESC, a.id DESC LIMIT $3"
            ),
            &[&tenant.0, &kinds, &limit],
        )
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// One artifact of a tenant's job; another tenant's is not found.
pub async fn get(db: &Db, tenant: TenantId, id: uuid::Uuid) -> Result<Artifact, DbError> {
    let row = db
        .client()
        .await?
        .query_opt(
            &format!(
                "SELECT {COLUMNS} FROM artifacts a JOIN jobs j ON j.id = a.job_id
                 WHERE a.id = $1 AND j.tenant_id = $2"
            ),
            &[&id, &tenant.0],
        )
        .await?
        .ok_or(DbError::NotFound)?;
    Ok(from_row(&row))
}

/// Artifacts whose time is up, for the janitor to delete.
pub async fn expired(db: &Db, limit: i64) -> Result<Vec<Artifact>, DbError> {
    let rows = db
        .client()
        .await?
        .query(
            &format!("SELECT {COLUMNS} FROM artifacts a WHERE a.expires_at < now() LIMIT $1"),
            &[&limit],
        )
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Forgets an artifact whose object was deleted.
pub async fn delete(db: &Db, id: uuid::Uuid) -> Result<(), DbError> {
    db.client()
        .await?
        .execute("DELETE FROM artifacts WHERE id = $1", &[&id])
        .await?;
    Ok(())
}

fn from_row(r: &Row) -> Artifact {
    Artifact {
        id: r.get(0),
        job_id: JobId(r.get(1)),
        language: r.get(2),
        stage: r.get(3),
        kind: r.get(4),
        object_key: r.get(5),
        file_name: r.get(6),
        content_type: r.get(7),
        size_bytes: r.get(8),
        engine: r.get(9),
        created_at: r.get(10),
        expires_at: r.get(11),
    }
}
