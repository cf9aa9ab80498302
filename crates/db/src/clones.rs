//! Voices cloned at a vendor from a job's speakers (`options.clone_voices`):
//! recorded as soon as the vendor makes one, reused by a re-run, and
//! deleted at the vendor by the janitor once the job no longer needs them.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use voxline_core::{JobId, TenantId};

use crate::{Db, DbError};

#[derive(Debug, Clone, PartialEq)]
pub struct ClonedVoice {
    pub id: uuid::Uuid,
    pub job_id: JobId,
    /// The engine (vendor name in `[vendors]`) it lives at.
    pub engine: String,
    /// The speaker's label (`S1`).
    pub speaker: String,
    /// The vendor's id of the voice.
    pub voice_id: String,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Records a clone the vendor just made; if the speaker already has a live
/// clone at that engine (a concurrent run made one first), that one is the
/// speaker's voice and is returned, and the caller deletes its own.
pub async fn record(
    db: &Db,
    job: JobId,
    tenant: TenantId,
    engine: &str,
    speaker: &str,
    voice_id: &str,
) -> Result<String, DbError> {
    let r = db
        .row(
            &query!("clones/record"),
            &[&job, &tenant, &engine, &speaker, &voice_id],
        )
        .await?
        .ok_or(DbError::NotFound)?;
    Ok(r.try_get("voice_id")?)
}

/// The live clones of a job.
pub async fn for_job(db: &Db, job: JobId) -> Result<Vec<ClonedVoice>, DbError> {
    db.rows(&query!("clones/for_job"), &[&job])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Live clones no job needs any more (gone, cancelled, or ended with its
/// files expired), oldest first.
pub async fn due_for_deletion(db: &Db, limit: i64) -> Result<Vec<ClonedVoice>, DbError> {
    db.rows(&query!("clones/due"), &[&limit])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Notes that a clone is deleted at its vendor.
pub async fn mark_deleted(db: &Db, id: uuid::Uuid) -> Result<(), DbError> {
    db.execute(&query!("clones/mark_deleted"), &[&id]).await?;
    Ok(())
}

fn from_row(r: &Row) -> Result<ClonedVoice, DbError> {
    Ok(ClonedVoice {
        id: r.try_get("id")?,
        job_id: r.try_get("job_id")?,
        engine: r.try_get("engine")?,
        speaker: r.try_get("speaker")?,
        voice_id: r.try_get("voice_id")?,
        created_at: r.try_get("created_at")?,
        deleted_at: r.try_get("deleted_at")?,
    })
}
