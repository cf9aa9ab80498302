//! The object key layout. Keys are deterministic, so a re-run of a stage
//! overwrites its files instead of leaving duplicates behind.

use voxline_core::{JobId, Stage, TenantId, UploadId};

/// Where an uploaded file lives.
pub fn upload(tenant: TenantId, upload: UploadId) -> String {
    format!("uploads/{tenant}/{upload}")
}

/// Where a client's direct upload (through an upload URL) lands. It is
/// checked and copied to [`upload`] when registered; what stays here is
/// deleted after the link's lifetime, so a link used again after the check
/// changes nothing a job reads.
pub fn incoming(tenant: TenantId, upload: UploadId) -> String {
    format!("{INCOMING}{tenant}/{upload}")
}

/// The folder of direct uploads.
pub const INCOMING: &str = "incoming/";

/// Where a stage of a job writes a file for a language.
pub fn artifact(job: JobId, language: &str, stage: Stage, file_name: &str) -> String {
    format!("jobs/{job}/{language}/{}/{file_name}", stage.as_str())
}

/// Everything a job wrote.
pub fn job_prefix(job: JobId) -> String {
    format!("jobs/{job}/")
}
