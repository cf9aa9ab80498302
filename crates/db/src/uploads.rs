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

pub async fn insert(db: &Db, u: &Upload) -> Result<(), DbError> {
    db.client()
        .await?
        .execute(
            "INSERT INTO uploads (id, tenant_id, object_key, file_name, content_type,
                                  size_bytes, duration_s, media, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &u.id.0,
                &u.tenant_id.0,
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
    let row = db
        .client()
        .await?
        .query_opt(
            "SELECT id, tenant_id, object_key, file_name, content_type, size_bytes,
                    duration_s, media, created_at
             FROM uploads WHERE id = $1 AND tenant_id = $2",
            &[&id.0, &tenant.0],
        )
        .await?
        .ok_or(DbError::NotFound)?;
    Ok(Upload {
        id: UploadId(row.get(0)),
        tenant_id: TenantId(row.get(1)),
        object_key: row.get(2),
        file_name: row.get(3),
        content_type: row.get(4),
        size_bytes: row.get(5),
        duration: row.get(6),
        media: row.get(7),
        created_at: row.get(8),
    })
}

/// Forgets an upload of `tenant` that no job uses (its object is deleted by
/// the caller). An upload a job still uses is kept.
pub async fn delete(db: &Db, tenant: TenantId, id: UploadId) -> Result<(), DbError> {
    db.client()
        .await?
        .execute(
            "DELETE FROM uploads u WHERE u.id = $1 AND u.tenant_id = $2
               AND NOT EXISTS (SELECT 1 FROM jobs j
                               WHERE j.source_upload_id = u.id OR j.background_upload_id = u.id)",
            &[&id.0, &tenant.0],
        )
        .await?;
    Ok(())
}
