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
    db.client()
        .await?
        .execute(
            "INSERT INTO uploads (id, tenant_id, object_key, file_name, content_type,
                                  size_bytes, duration_s, media, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (id) DO NOTHING",
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

/// Forgets an upload of `tenant` unless a job uses it. Returns whether it
/// is unused (gone, or never recorded): only then may its object go too.
pub async fn delete_unused(db: &Db, tenant: TenantId, id: UploadId) -> Result<bool, DbError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    let used: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE source_upload_id = $1 OR background_upload_id = $1)",
            &[&id.0],
        )
        .await?
        .get(0);
    if !used {
        tx.execute(
            "DELETE FROM uploads WHERE id = $1 AND tenant_id = $2",
            &[&id.0, &tenant.0],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(!used)
}
