//! The scripts jobs were given (`voxline_core::script`): written with the
//! job, in its creation statement (`jobs/create_many`), and read by the
//! transcription stage in place of hearing the source.

use voxline_core::JobId;
use voxline_core::script::{Script, ScriptFormat};

use crate::{Db, DbError};

/// The script `job` was given, if any.
pub async fn get(db: &Db, job: JobId) -> Result<Option<Script>, DbError> {
    let Some(r) = db.row(&query!("scripts/get"), &[&job]).await? else {
        return Ok(None);
    };
    let format: String = r.try_get("format")?;
    let segments: serde_json::Value = r.try_get("segments")?;
    Ok(Some(Script {
        format: ScriptFormat::parse(&format).map_err(|e| DbError::Corrupt(e.to_string()))?,
        segments: serde_json::from_value(segments)
            .map_err(|e| DbError::Corrupt(format!("job {job}'s script: {e}")))?,
    }))
}
