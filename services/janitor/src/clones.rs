//! Voices cloned from a job's speakers are deleted at their vendor once the
//! job no longer needs them: it ended and its files expired, it was
//! cancelled, or it is gone. The row stays, with when the clone went.

use std::collections::BTreeMap;
use std::sync::Arc;

use voxline_db::clones;
use voxline_providers::Synthesizer;
use voxline_worker::{Connections, WorkerError};

/// The vendors that clone voices, by their name in `[vendors]`.
pub type Cloners = BTreeMap<String, Arc<dyn Synthesizer>>;

/// Deletes the clones no job needs at their vendors; returns how many went.
/// A vendor that fails keeps its clones for the next pass; a clone whose
/// vendor is no longer configured is reported, not forgotten.
pub async fn delete_clones_once(c: &Connections, cloners: &Cloners) -> Result<usize, WorkerError> {
    let due = clones::due_for_deletion(&c.db, 100).await?;
    let mut deleted = 0;
    for clone in &due {
        let Some(vendor) = cloners.get(&clone.engine) else {
            tracing::warn!(
                engine = %clone.engine,
                voice = %clone.voice_id,
                "a cloned voice is due for deletion, but its vendor is not in [vendors]: delete it by hand"
            );
            continue;
        };
        match vendor.delete_voice(&clone.voice_id).await {
            Ok(()) => {
                clones::mark_deleted(&c.db, clone.id).await?;
                deleted += 1;
            }
            Err(e) => {
                tracing::warn!(error = %e, voice = %clone.voice_id, "a cloned voice could not be deleted; tried again next pass");
            }
        }
    }
    if deleted > 0 {
        tracing::info!(deleted, "cloned voices deleted at their vendors");
    }
    Ok(deleted)
}
