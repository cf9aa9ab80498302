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

pub async fn insert(db: &Db, d: &Draft) -> Result<(), DbError> {
    db.execute(
        &query!("drafts/insert"),
        &[
            &d.job_id,
            &d.tenant_id,
            &d.languages,
            &d.voice_upload_id,
            &d.voice_file_name,
            &d.background_upload_id,
            &d.background_file_name,
        ],
    )
    .await?;
    Ok(())
}

/// A draft of `tenant`; another tenant's is simply not found.
pub async fn get(db: &Db, tenant: TenantId, job: JobId) -> Result<Draft, DbError> {
    let row = db
        .row(&query!("drafts/get"), &[&job, &tenant])
        .await?
        .ok_or(DbError::NotFound)?;
    from_row(&row)
}

pub async fn delete(db: &Db, job: JobId) -> Result<(), DbError> {
    db.execute(&query!("drafts/delete"), &[&job]).await?;
    Ok(())
}

/// Drafts older than `hours` that never became jobs, for the janitor.
pub async fn abandoned(db: &Db, hours: f64, limit: i64) -> Result<Vec<Draft>, DbError> {
    db.rows(&query!("drafts/abandoned"), &[&hours, &limit])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

fn from_row(r: &Row) -> Result<Draft, DbError> {
    Ok(Draft {
        job_id: r.try_get("job_id")?,
        tenant_id: r.try_get("tenant_id")?,
        languages: r.try_get("languages")?,
        voice_upload_id: r.try_get("voice_upload_id")?,
        voice_file_name: r.try_get("voice_file_name")?,
        background_upload_id: r.try_get("background_upload_id")?,
        background_file_name: r.try_get("background_file_name")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Forgets drafts whose job was made (left behind when their deletion
/// failed after the job's creation); returns how many.
pub async fn forget_fulfilled(db: &Db) -> Result<u64, DbError> {
    db.execute(&query!("drafts/forget_fulfilled"), &[]).await
}
