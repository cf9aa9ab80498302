use std::path::Path;

use voxline_db::artifacts::Artifact;
use voxline_worker::{StageContext, StageError};

/// Copies a language's files to `{folder}/{job_id}/{language}/`, replacing
/// what an earlier attempt left. Returns the folder written.
pub async fn copy(
    ctx: &StageContext,
    folder: &Path,
    files: &[Artifact],
) -> Result<String, StageError> {
    let dir = folder.join(ctx.job().id.to_string()).join(ctx.language());
    tokio::fs::create_dir_all(&dir).await.map_err(|e| {
        StageError::transient(
            "publish_folder_unwritable",
            format!("{}: {e}", dir.display()),
        )
    })?;
    for a in files {
        // A file name comes from our own artifact table, never from a client.
        ctx.storage
            .get_to_file(&a.object_key, &dir.join(&a.file_name))
            .await?;
    }
    Ok(dir.display().to_string())
}
