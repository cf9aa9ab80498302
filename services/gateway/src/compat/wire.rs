//! The JSON the existing frontend sends and reads, field for field as its
//! client code has them (docs/frontend/client-calls.md): snake_case
//! in requests and listings, camelCase in the status view.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct UploadUrlsRequest {
    /// Target languages (ISO 639-1).
    #[schema(example = json!(["es"]), value_type = Vec<crate::schemas::LanguageCode>)]
    pub languages: Vec<String>,
    /// The file's name (not blank).
    #[schema(
        example = "voice.mp3",
        min_length = 1,
        pattern = r"^[^\uFFFD]*[^\s\uFFFD][^\uFFFD]*$"
    )]
    pub voice_track_name: String,
    /// The background file's name (not blank), when there is one.
    #[serde(default)]
    #[schema(min_length = 1, pattern = r"^[^\uFFFD]*[^\s\uFFFD][^\uFFFD]*$")]
    pub background_track_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadUrls {
    /// PUT the voice track here: no auth header, any 2xx is success.
    pub voice_track: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background_track: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadUrlsResponse {
    pub job_id: String,
    pub upload_urls: UploadUrls,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubmitJobRequest {
    pub job_id: String,
    #[serde(default = "yes")]
    pub voice_track_uploaded: bool,
    #[serde(default)]
    pub background_track_uploaded: bool,
    #[schema(value_type = Vec<crate::schemas::LanguageCode>)]
    pub languages: Vec<String>,
    /// The upload URL the voice track was PUT to (informational: the job's
    /// files are found by `job_id`).
    #[serde(default)]
    pub voice_track_url: Option<String>,
    #[serde(default)]
    pub background_track_url: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedJob {
    pub job_id: String,
    pub status: &'static str,
    pub message: String,
}

/// `GET /api/jobs/{id}`: what the frontend polls.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobStatusView {
    pub id: String,
    /// `uploading | processing | generating | finalizing | complete | error`
    pub status: &'static str,
    /// 0–100.
    pub progress: u32,
    pub message: String,
    pub total_languages: usize,
    pub completed_languages: usize,
    pub started_at: DateTime<Utc>,
    pub estimated_completion: Option<DateTime<Utc>>,
    pub languages: Vec<LanguageStatus>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LanguageStatus {
    pub language_code: String,
    pub language_name: String,
    pub flag: String,
    /// `pending | processing | generating | finalizing | complete | error`
    pub status: &'static str,
    pub progress: u32,
    pub message: String,
    /// Seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_time_remaining: Option<u64>,
    /// Bytes of the finished dub.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<i64>,
    /// The finished dub (voice over background); null until complete.
    pub download_url: Option<String>,
}

/// One job of `GET /api/jobs`.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobListItem {
    pub id: String,
    /// `uploading | processing | generating | finalizing | complete | error`
    pub status: &'static str,
    /// 0–100, the mean of the languages'.
    pub progress: u32,
    /// What the job is doing, or why it failed.
    pub message: String,
    pub total_languages: usize,
    pub completed_languages: usize,
    pub target_languages: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Seconds.
    pub voice_track_duration: f64,
    pub background_track_uploaded: bool,
    /// Per finished language.
    pub download_urls: BTreeMap<String, DownloadUrls>,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct DownloadUrls {
    /// The dubbed voice alone.
    pub voice: Option<String>,
    /// The dubbed voice mixed over the background.
    pub full: Option<String>,
    /// Subtitles (SRT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captions: Option<String>,
}

/// One file of `GET /api/downloads`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DownloadItem {
    pub id: String,
    pub job_id: String,
    /// The name of the file the job was made from.
    pub job_title: String,
    pub language_code: String,
    pub language_name: String,
    pub file_name: String,
    /// `voice | full | captions`
    pub file_type: &'static str,
    pub file_size: i64,
    /// When the file became available.
    pub downloaded_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub is_expired: bool,
    /// Null once expired.
    pub download_url: Option<String>,
}

/// The error shape the frontend understands.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlatError {
    /// A stable code, such as `duration_mismatch`.
    pub error: String,
    pub message: String,
}
