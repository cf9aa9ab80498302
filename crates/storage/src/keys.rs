//! The object key layout. Keys are deterministic, so a re-run of a stage
//! overwrites its files instead of leaving duplicates behind.

use voxline_core::{JobId, Stage, TenantId, UploadId};

/// Where an uploaded file lives.
pub fn upload(tenant: TenantId, upload: UploadId) -> String {
    format!("uploads/{tenant}/{upload}")
}

/// Where a stage of a job writes a file for a language.
pub fn artifact(job: JobId, language: &str, stage: Stage, file_name: &str) -> String {
    format!("jobs/{job}/{language}/{}/{file_name}", stage.as_str())
}

/// Everything a job wrote.
pub fn job_prefix(job: JobId) -> String {
    format!("jobs/{job}/")
}
