use voxline_db::{artifacts, drafts, jobs, uploads};
use voxline_storage::keys;
use voxline_worker::{Connections, WorkerError};

/// Deletes artifacts past their expiry: the objects first, then the row, so a
/// crash in between leaves a row pointing at nothing (retried next pass)
/// rather than an object nobody knows about. A stage's files all expire
/// together, so the artifact's whole stage folder goes (the synthesizer's
/// per-line audio has no rows of its own).
pub async fn sweep_once(c: &Connections) -> Result<usize, WorkerError> {
    let expired = artifacts::expired(&c.db, 500).await?;
    for a in &expired {
        let folder = a
            .object_key
            .rsplit_once('/')
            .map_or(a.object_key.as_str(), |(dir, _)| dir);
        c.storage
            .delete_prefix(folder)
            .await
            .map_err(|e| WorkerError::Setup(e.to_string()))?;
        artifacts::delete(&c.db, a.id).await?;
    }
    if !expired.is_empty() {
        tracing::info!(deleted = expired.len(), "expired artifacts deleted");
    }
    Ok(expired.len())
}

/// Deletes every file of cancelled jobs (objects first, then the rows), once
/// `grace_s` has passed since the cancellation.
pub async fn clean_cancelled_once(c: &Connections, grace_s: f64) -> Result<usize, WorkerError> {
    let cancelled = jobs::cancelled_uncleaned(&c.db, grace_s, 100).await?;
    for job in &cancelled {
        c.storage
            .delete_prefix(&keys::job_prefix(*job))
            .await
            .map_err(|e| WorkerError::Setup(e.to_string()))?;
        jobs::mark_cleaned(&c.db, *job).await?;
    }
    if !cancelled.is_empty() {
        tracing::info!(jobs = cancelled.len(), "files of cancelled jobs deleted");
    }
    Ok(cancelled.len())
}

/// Deletes job drafts (upload URLs handed to the existing frontend) that
/// never became jobs within `hours`, with whatever was uploaded for them
/// (an upload a job came to use is kept), forgets drafts whose job was made,
/// and deletes direct uploads left in `incoming/` for longer than `hours`
/// (a link used again after its file was checked).
pub async fn clean_drafts_once(c: &Connections, hours: f64) -> Result<usize, WorkerError> {
    let storage_error = |e: voxline_storage::StorageError| WorkerError::Setup(e.to_string());
    let abandoned = drafts::abandoned(&c.db, hours, 100).await?;
    for d in &abandoned {
        for upload in [Some(d.voice_upload_id), d.background_upload_id]
            .into_iter()
            .flatten()
        {
            c.storage
                .delete(&keys::incoming(d.tenant_id, upload))
                .await
                .map_err(storage_error)?;
            if uploads::delete_unused(&c.db, d.tenant_id, upload).await? {
                c.storage
                    .delete(&keys::upload(d.tenant_id, upload))
                    .await
                    .map_err(storage_error)?;
            }
        }
        drafts::delete(&c.db, d.job_id).await?;
    }
    drafts::forget_fulfilled(&c.db).await?;
    let age = std::time::Duration::from_secs_f64(hours.max(0.0) * 3600.0);
    let stale = c
        .storage
        .delete_older_than(keys::INCOMING, age)
        .await
        .map_err(storage_error)?;
    if !abandoned.is_empty() || stale > 0 {
        tracing::info!(
            drafts = abandoned.len(),
            stale_uploads = stale,
            "abandoned uploads deleted"
        );
    }
    Ok(abandoned.len())
}
