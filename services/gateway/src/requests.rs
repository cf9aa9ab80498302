//! The JSON the native API accepts, and its conversion into domain values.

use serde::{Deserialize, Serialize};
use voxline_core::{JobKind, JobOptions, UploadId};

use crate::error::ApiError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateJobRequest {
    pub kind: JobKind,
    pub source_upload_id: String,
    #[serde(default)]
    pub background_upload_id: Option<String>,
    /// ISO 639-1 code of the spoken language, or `auto` where an engine detects it.
    #[serde(default = "default_source")]
    pub source_language: String,
    #[serde(default)]
    pub target_languages: Vec<String>,
    #[serde(default)]
    pub options: JobOptions,
}

fn default_source() -> String {
    "en".into()
}

impl CreateJobRequest {
    pub fn source_upload(&self) -> Result<UploadId, ApiError> {
        parse_upload_id("source_upload_id", &self.source_upload_id)
    }

    pub fn background_upload(&self) -> Result<Option<UploadId>, ApiError> {
        self.background_upload_id
            .as_deref()
            .map(|id| parse_upload_id("background_upload_id", id))
            .transpose()
    }
}

fn parse_upload_id(field: &str, text: &str) -> Result<UploadId, ApiError> {
    UploadId::parse(text)
        .map_err(|e| ApiError::unprocessable("invalid_id", format!("{field}: {e}")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListJobsQuery {
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file's name, for people and for the extension of downloads.
    pub filename: Option<String>,
}
