//! Uploaded media: where it is stored and what ffprobe found in it.

use chrono::{DateTime, Utc};
use voxline_core::{TenantId, UploadId};

use crate::{Db, DbError};

#[derive(Debug, Clone)]
pub struct Upload {
    pub id: UploadId,
    pub tenant_id: TenantId,
    pub object_key: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub duration: f64,
    /// ffprobe's findings, as `voxline_media::MediaInfo` JSON.
    pub media: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Records an upload; recording the same id twice keeps the first.
pub async fn insert(db: &Db, u: &Upload) -> Result<(), DbError> {
    db.execute(
        &query!("uploads/insert"),
        &[
            &u.id,
            &u.tenant_id,
            &u.object_key,
            &u.file_name,
            &u.content_type,
            &u.size_bytes,
            &u.duration,
            &u.media,
            &u.created_at,
        ],
    )
    .await?;
    Ok(())
}

/// An upload of `tenant`; another tenant's upload is simply not found.
pub async fn get(db: &Db, tenant: TenantId, id: UploadId) -> Result<Upload, DbError> {
    let r = db
        .row(&query!("uploads/get"), &[&id, &tenant])
        .await?
        .ok_or(DbError::NotFound)?;
    Ok(Upload {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        object_key: r.try_get("object_key")?,
        file_name: r.try_get("file_name")?,
        content_type: r.try_get("content_type")?,
        size_bytes: r.try_get("size_bytes")?,
        duration: r.try_get("duration_s")?,
        media: r.try_get("media")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Forgets an upload of `tenant` unless a job uses it. Returns whether it
/// is unused (gone, or never recorded): only then may its object go too.
pub async fn delete_unused(db: &Db, tenant: TenantId, id: UploadId) -> Result<bool, DbError> {
    let used: bool = db
        .row(&query!("uploads/delete_unused"), &[&id, &tenant])
        .await?
        .ok_or(DbError::NotFound)?
        .try_get("used")?;
    Ok(!used)
}
