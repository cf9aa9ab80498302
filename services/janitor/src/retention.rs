use voxline_db::artifacts;
use voxline_queue::{Connections, QueueError};

/// Deletes artifacts past their expiry: the objects first, then the row, so a
/// crash in between leaves a row pointing at nothing (retried next pass)
/// rather than an object nobody knows about. A stage's files all expire
/// together, so the artifact's whole stage folder goes (the synthesizer's
/// per-line audio has no rows of its own).
pub async fn sweep_once(c: &Connections) -> Result<usize, QueueError> {
    let expired = artifacts::expired(&c.db, 500).await?;
    for a in &expired {
        let folder = a
            .object_key
            .rsplit_once('/')
            .map_or(a.object_key.as_str(), |(dir, _)| dir);
        c.storage
            .delete_prefix(folder)
            .await
            .map_err(|e| QueueError::Setup(e.to_string()))?;
        artifacts::delete(&c.db, a.id).await?;
    }
    if !expired.is_empty() {
        tracing::info!(deleted = expired.len(), "expired artifacts deleted");
    }
    Ok(expired.len())
}
