//! The JSON the native API accepts. Words (kinds, modes) arrive as strings
//! and are converted to domain values here, so a wrong one gets a 422 that
//! names what is allowed.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use voxline_core::{JobKind, JobOptions, SubtitleMode, UploadId};

use crate::error::ApiError;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateJobRequest {
    /// What to produce.
    #[schema(example = "dub", pattern = "^(dub|subtitle|transcribe)$")]
    pub kind: String,
    /// An upload of yours (`POST /v1/uploads`).
    pub source_upload_id: String,
    /// A separate background track to mix under the dub (dub jobs only).
    #[serde(default)]
    pub background_upload_id: Option<String>,
    /// ISO 639-1 code of the spoken language, or `auto` where an engine detects it.
    #[serde(default = "default_source")]
    #[schema(example = "en")]
    pub source_language: String,
    /// ISO 639-1 codes to dub or subtitle into (none for `transcribe`).
    #[serde(default)]
    #[schema(example = json!(["es"]))]
    pub target_languages: Vec<String>,
    #[serde(default)]
    pub options: JobOptionsRequest,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobOptionsRequest {
    /// `soft` (a selectable track, the default), `burned` into the picture, or `none`.
    #[schema(pattern = "^(soft|burned|none)$")]
    pub subtitles: Option<String>,
    /// Keep the original audio as a second track of the dub (default true).
    pub keep_original_audio: Option<bool>,
    /// An endpoint that receives a signed notification when a language is published.
    pub webhook_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    /// What the key is for, for people: `ci`, `laptop`.
    #[schema(example = "ci", min_length = 1, max_length = 100)]
    pub name: String,
}

/// An administrator's grant of credits.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// The tenant's name: its API-key tenant, or the JWT's tenant claim (`sub`).
    pub tenant: String,
    /// Credits to add; negative takes some back.
    #[schema(example = 20.0)]
    pub amount: f64,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// Start of the period (RFC 3339); 30 days before `to` by default.
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// End of the period, exclusive (RFC 3339); now by default.
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// Sum per `engine` (default), `stage` or `day`.
    #[param(pattern = "^(engine|stage|day)$")]
    pub group_by: Option<String>,
}

fn default_source() -> String {
    "en".into()
}

impl CreateJobRequest {
    pub fn kind(&self) -> Result<JobKind, ApiError> {
        JobKind::parse(&self.kind)
            .map_err(|e| ApiError::unprocessable("invalid_kind", e.to_string()))
    }

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

impl TryFrom<&JobOptionsRequest> for JobOptions {
    type Error = ApiError;

    fn try_from(o: &JobOptionsRequest) -> Result<Self, ApiError> {
        let defaults = JobOptions::default();
        let subtitles = match o.subtitles.as_deref() {
            Some(word) => SubtitleMode::parse(word).map_err(|e| {
                ApiError::unprocessable("invalid_option", format!("options.subtitles: {e}"))
            })?,
            None => defaults.subtitles,
        };
        if let Some(url) = &o.webhook_url {
            let parsed = url::Url::parse(url).map_err(|e| {
                ApiError::unprocessable("invalid_option", format!("options.webhook_url: {e}"))
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(ApiError::unprocessable(
                    "invalid_option",
                    "options.webhook_url must be an http(s) URL",
                ));
            }
        }
        Ok(JobOptions {
            subtitles,
            keep_original_audio: o
                .keep_original_audio
                .unwrap_or(defaults.keep_original_audio),
            webhook_url: o.webhook_url.clone(),
        })
    }
}

fn parse_upload_id(field: &str, text: &str) -> Result<UploadId, ApiError> {
    UploadId::parse(text)
        .map_err(|e| ApiError::unprocessable("invalid_id", format!("{field}: {e}")))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListJobsQuery {
    /// Only jobs in this state.
    #[param(pattern = "^(queued|running|completed|failed|cancelled)$")]
    pub status: Option<String>,
    /// Page size (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name, for people and for the extension of downloads.
    pub filename: Option<String>,
}
