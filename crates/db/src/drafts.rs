//! Job drafts: a job id and upload ids promised to the existing frontend
//! (`POST /api/jobs/upload-urls`) before its files are uploaded.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use voxline_core::{JobId, TenantId, UploadId};

use crate::{Db, DbError};

#[derive(Debug, Clone)]
pub struct Draft {
    pub job_id: JobId,
    pub tenant_id: TenantId,
    pub languages: Vec<String>,
    pub voice_upload_id: UploadId,
    pub voice_file_name: String,
    pub background_upload_id: Option<UploadId>,
    pub background_file_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "job_id, tenant_id, languages, voice_upload_id, voice_file_name,
    background_upload_id, background_file_name, created_at";

pub async fn insert(db: &Db, d: &Draft) -> Result<(), DbError> {
    db.client()
        .await?
        .execute(
            "INSERT INTO job_drafts (job_id, tenant_id, languages, voice_upload_id, voice_file_name,
                                     background_upload_id, background_file_name)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &d.job_id.0,
                &d.tenant_id.0,
                &d.languages,
                &d.voice_upload_id.0,
                &d.voice_file_name,
                &d.background_upload_id.map(|u| u.0),
                &d.background_file_name,
            ],
        )
        .await?;
    Ok(())
}

/// A draft of `tenant`; another tenant's is simply not found.
pub async fn get(db: &Db, tenant: TenantId, job: JobId) -> Result<Draft, DbError> {
    let row = db
        .client()
        .await?
        .query_opt(
            &format!("SELECT {COLUMNS} FROM job_drafts WHERE job_id = $1 AND tenant_id = $2"),
            &[&job.0, &tenant.0],
        )
        .await?
        .ok_or(DbError::NotFound)?;
    Ok(from_row(&row))
}

pub async fn delete(db: &Db, job: JobId) -> Result<(), DbError> {
    db.client()
        .await?
        .execute("DELETE FROM job_drafts WHERE job_id = $1", &[&job.0])
        .await?;
    Ok(())
}

/// Drafts older than `hours` that never became jobs, for the janitor.
pub async fn abandoned(db: &Db, hours: f64, limit: i64) -> Result<Vec<Draft>, DbError> {
    let rows = db
        .client()
        .await?
        .query(
            &format!(
                "SELECT {COLUMNS} FROM job_drafts d
                 WHERE created_at < now() - $1::float8 * interval '1 hour'
                   AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = d.job_id)
                 ORDER BY created_at LIMIT $2"
            ),
            &[&hours, &limit],
        )
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

fn from_row(r: &Row) -> Draft {
    Draft {
        job_id: JobId(r.get(0)),
        tenant_id: TenantId(r.get(1)),
        languages: r.get(2),
        voice_upload_id: UploadId(r.get(3)),
        voice_file_name: r.get(4),
        background_upload_id: r.get::<_, Option<uuid::Uuid>>(5).map(UploadId),
        background_file_name: r.get(6),
        created_at: r.get(7),
    }
}

/// Forgets drafts whose job was made (left behind when their deletion
/// failed after the job's creation); returns how many.
pub async fn forget_fulfilled(db: &Db) -> Result<u64, DbError> {
    Ok(db
        .client()
        .await?
        .execute(
            "DELETE FROM job_drafts d WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.id = d.job_id)",
            &[],
        )
        .await?)
}
