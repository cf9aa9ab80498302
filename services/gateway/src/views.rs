//! The JSON the native API answers with. Field names are the API's contract.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use voxline_core::Language;
use voxline_db::artifacts::Artifact;
use voxline_db::jobs::{Job, Task};
use voxline_db::snapshots::RunSummary;
use voxline_db::uploads::Upload;

pub mod admin;

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadView {
    pub id: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub duration: f64,
    /// What ffprobe found: duration, format and streams.
    #[schema(value_type = Object)]
    pub media: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl From<&Upload> for UploadView {
    fn from(u: &Upload) -> Self {
        Self {
            id: u.id.to_string(),
            file_name: u.file_name.clone(),
            content_type: u.content_type.clone(),
            size_bytes: u.size_bytes,
            duration: u.duration,
            media: u.media.clone(),
            created_at: u.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorView {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArtifactView {
    pub id: String,
    pub kind: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub engine: Option<String>,
    pub download_url: String,
    pub expires_at: DateTime<Utc>,
}

impl ArtifactView {
    pub fn new(a: &Artifact, download_url: String) -> Self {
        Self {
            id: a.id.to_string(),
            kind: a.kind.clone(),
            file_name: a.file_name.clone(),
            content_type: a.content_type.clone(),
            size_bytes: a.size_bytes,
            engine: a.engine.clone(),
            download_url,
            expires_at: a.expires_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StageView {
    pub stage: String,
    pub status: String,
    pub attempts: i32,
    pub engine: Option<String>,
    pub error: Option<ErrorView>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<&RunSummary> for StageView {
    fn from(r: &RunSummary) -> Self {
        Self {
            stage: r.stage.as_str().into(),
            status: r.status.as_str().into(),
            attempts: r.attempts,
            engine: r.engine.clone(),
            error: error_view(&r.error_code, &r.error_message),
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    pub language: String,
    pub language_name: String,
    pub status: String,
    pub stage: String,
    /// 0–100.
    pub progress: f64,
    pub message: String,
    pub error: Option<ErrorView>,
    pub stages: Vec<StageView>,
    /// The language's price in credits, when credits are on.
    pub credits: Option<f64>,
    /// Statistics of the finished task, such as how far dubbed lines were stretched.
    #[schema(value_type = Option<Object>)]
    pub stats: Option<serde_json::Value>,
    pub artifacts: Vec<ArtifactView>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl TaskView {
    pub fn new(t: &Task, stages: Vec<StageView>, artifacts: Vec<ArtifactView>) -> Self {
        Self {
            language: t.language.clone(),
            language_name: Language::parse(&t.language)
                .map(|l| l.name.to_owned())
                .unwrap_or_default(),
            status: t.status.as_str().into(),
            stage: t.stage.as_str().into(),
            progress: round1(t.progress * 100.0),
            message: t.message.clone(),
            error: error_view(&t.error_code, &t.error_message),
            stages,
            credits: t.credits.map(|c| c.as_credits()),
            stats: t.stats.clone(),
            artifacts,
            started_at: t.started_at,
            finished_at: t.finished_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: String,
    pub kind: String,
    pub status: String,
    /// 0–100, the mean of the tasks' progress.
    pub progress: f64,
    pub source_upload_id: String,
    pub background_upload_id: Option<String>,
    pub source_language: String,
    pub target_languages: Vec<String>,
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    pub duration: f64,
    /// Files about the source itself: the transcript and its subtitles, and
    /// for a dub its separated voice and background.
    pub source_artifacts: Vec<ArtifactView>,
    /// A signed link to the uploaded source, to play or fetch the original
    /// (while the upload is kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// The streaming package, once the source is packaged (dubs and
    /// subtitle jobs): one player switches between every language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageView>,
    pub tasks: Vec<TaskView>,
    /// Every engine call made for the job, with its estimated cost.
    pub usage: Vec<UsageView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl JobView {
    pub fn new(
        j: &Job,
        source_artifacts: Vec<ArtifactView>,
        tasks: Vec<TaskView>,
        usage: Vec<UsageView>,
    ) -> Self {
        let progress = if tasks.is_empty() {
            0.0
        } else {
            tasks.iter().map(|t| t.progress).sum::<f64>() / tasks.len() as f64
        };
        Self {
            id: j.id.to_string(),
            kind: j.kind.as_str().into(),
            status: j.status.as_str().into(),
            progress: round1(progress),
            source_upload_id: j.source_upload_id.to_string(),
            background_upload_id: j.background_upload_id.map(|u| u.to_string()),
            source_language: j.source_language.clone(),
            target_languages: j.target_languages.clone(),
            options: serde_json::to_value(&j.options).unwrap_or_default(),
            duration: j.duration,
            source_artifacts,
            source_url: None,
            package: None,
            tasks,
            usage,
            created_at: j.created_at,
            updated_at: j.updated_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
        }
    }
}

/// Signed links to a job's streaming package (`/v1/packages/...`). Every
/// file of the package is reachable under the same signed folder until
/// `expires_at`; ask for the job again for fresh links.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackageView {
    /// HLS master playlist: the video once, the original audio (default)
    /// and each finished language's dub as audio renditions, and subtitles
    /// per language. Languages join as they finish.
    pub hls_url: String,
    /// The same renditions as a DASH manifest, for DASH players.
    pub dash_url: String,
    /// One MP4 with the video once and every language's audio and
    /// subtitle tracks (made on request, streams copied).
    pub mp4_url: String,
    pub expires_at: DateTime<Utc>,
}

/// A job in a listing: its state without files.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobSummary {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub source_language: String,
    pub target_languages: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<&Job> for JobSummary {
    fn from(j: &Job) -> Self {
        Self {
            id: j.id.to_string(),
            kind: j.kind.as_str().into(),
            status: j.status.as_str().into(),
            source_language: j.source_language.clone(),
            target_languages: j.target_languages.clone(),
            created_at: j.created_at,
            updated_at: j.updated_at,
            finished_at: j.finished_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    pub jobs: Vec<JobSummary>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn error_view(code: &Option<String>, message: &Option<String>) -> Option<ErrorView> {
    code.as_ref().map(|code| ErrorView {
        code: code.clone(),
        message: message.clone().unwrap_or_default(),
    })
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    pub id: String,
    pub name: String,
    /// The secret's first characters, to recognize it by.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&voxline_db::api_keys::KeyInfo> for KeyView {
    fn from(k: &voxline_db::api_keys::KeyInfo) -> Self {
        Self {
            id: k.id.to_string(),
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new key: the only answer that carries its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKeyView {
    #[serde(flatten)]
    pub key: KeyView,
    /// Send as `Authorization: Bearer <secret>`. Shown once.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

/// One attempt to deliver a webhook.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub language: String,
    /// The `webhook-id` header, the same on every attempt of one event.
    pub event_id: String,
    /// Without its query string.
    pub url: String,
    pub attempt: i32,
    /// The endpoint's answer; absent when it could not be reached.
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub at: DateTime<Utc>,
}

impl From<&voxline_db::deliveries::Delivery> for DeliveryView {
    fn from(d: &voxline_db::deliveries::Delivery) -> Self {
        Self {
            language: d.language.clone(),
            event_id: d.event_id.clone(),
            url: d.url.clone(),
            attempt: d.attempt,
            status_code: d.status_code,
            error: d.error.clone(),
            duration_ms: d.duration_ms,
            at: d.at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryView>,
}

/// The voices a dub may ask for, per language.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoicesView {
    pub languages: Vec<LanguageVoicesView>,
}

/// One language's voices.
#[derive(Debug, Serialize, ToSchema)]
pub struct LanguageVoicesView {
    #[schema(example = "es")]
    pub language: String,
    #[schema(example = "Spanish")]
    pub language_name: String,
    pub voices: Vec<VoiceView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VoiceView {
    /// What `options.voice` names.
    #[schema(example = "jm_kumo")]
    pub name: String,
    /// The engine that speaks it.
    #[schema(example = "kokoro")]
    pub engine: String,
    /// The language is spoken in this voice when a dub names none (no
    /// voice is when the first engine speaking it offers no choice).
    pub default: bool,
}

impl VoicesView {
    pub fn of(engines: &voxline_providers::Engines) -> Self {
        Self {
            languages: Language::all()
                .iter()
                .filter_map(|l| {
                    let voices = engines.voices(l.code);
                    (!voices.is_empty()).then(|| LanguageVoicesView {
                        language: l.code.to_owned(),
                        language_name: l.name.to_owned(),
                        voices: voices
                            .into_iter()
                            .map(|(engine, name, default)| VoiceView {
                                name,
                                engine,
                                default,
                            })
                            .collect(),
                    })
                })
                .collect(),
        }
    }
}

/// A tenant's credits: what new jobs may use, what running jobs hold, and
/// the latest ledger entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditsView {
    /// Whether this deployment charges credits for jobs.
    pub enabled: bool,
    pub available: f64,
    pub reserved: f64,
    pub entries: Vec<CreditEntryView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreditEntryView {
    pub id: i64,
    /// `grant`, `reserve`, `release` or `charge`.
    pub kind: String,
    /// Credits; negative takes from the balance.
    pub amount: f64,
    pub job_id: Option<String>,
    pub task_id: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&voxline_db::credits::Entry> for CreditEntryView {
    fn from(e: &voxline_db::credits::Entry) -> Self {
        Self {
            id: e.id,
            kind: e.kind.clone(),
            amount: e.amount.as_credits(),
            job_id: e.job_id.map(|j| j.to_string()),
            task_id: e.task_id.map(|t| t.to_string()),
            note: e.note.clone(),
            created_at: e.created_at,
        }
    }
}

/// One engine call of a job.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageView {
    pub stage: Option<String>,
    pub language: Option<String>,
    pub engine: String,
    /// `audio_seconds`, `characters` or `tokens`.
    pub unit: String,
    /// Calls this row sums, all with the same outcome.
    pub calls: i32,
    pub units: f64,
    /// Estimated from the configured price table.
    pub cost_usd: f64,
    pub latency_ms: i64,
    pub ok: bool,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<&voxline_db::usage::Record> for UsageView {
    fn from(r: &voxline_db::usage::Record) -> Self {
        Self {
            stage: r.stage.clone(),
            language: r.language.clone(),
            engine: r.engine.clone(),
            unit: r.unit.clone(),
            calls: r.calls,
            units: r.units,
            cost_usd: r.cost_usd,
            latency_ms: r.latency_ms,
            ok: r.ok,
            error: r.error.clone(),
            at: r.created_at,
        }
    }
}

/// A period's usage, summed per group.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsagePage {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub cost_usd: f64,
    pub totals: Vec<UsageTotalView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageTotalView {
    /// The engine, stage or day (YYYY-MM-DD, UTC) summed.
    pub key: String,
    pub unit: String,
    pub calls: i64,
    pub failed_calls: i64,
    pub units: f64,
    pub cost_usd: f64,
}

impl From<&voxline_db::usage::Total> for UsageTotalView {
    fn from(t: &voxline_db::usage::Total) -> Self {
        Self {
            key: t.key.clone(),
            unit: t.unit.clone(),
            calls: t.calls,
            failed_calls: t.failed_calls,
            units: t.units,
            cost_usd: t.cost_usd,
        }
    }
}

/// A file taken through an upload URL.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredView {
    pub size_bytes: u64,
}

/// Every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorView,
}

/// A tenant's glossary.
#[derive(Debug, Serialize, ToSchema)]
pub struct GlossaryView {
    #[schema(value_type = Vec<Object>, example = json!([{"term": "Voxline"}, {"term": "show", "translations": {"es": "programa"}}]))]
    pub terms: Vec<voxline_core::glossary::Term>,
    /// When it last changed; absent when it was never set.
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<voxline_db::glossaries::Glossary> for GlossaryView {
    fn from(g: voxline_db::glossaries::Glossary) -> Self {
        Self {
            terms: g.terms,
            updated_at: g.updated_at,
        }
    }
}

/// A task's dubbed lines as they are now, with the user's edits.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentsView {
    pub job_id: String,
    /// The task's language (ISO 639-1).
    pub language: String,
    /// The language the lines were translated from.
    pub source_language: String,
    /// The engine that translated them.
    pub engine: String,
    pub segments: Vec<SegmentView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentView {
    pub id: u32,
    /// Seconds on the source's timeline.
    pub start: f64,
    pub end: f64,
    /// What the dubbed line says.
    pub text: String,
    /// What the speaker said, as transcribed.
    pub source_text: Option<String>,
    /// Who says it (`S1`, `S2`, … as the source's speakers were told
    /// apart, or a label an edit gave); absent when speakers were not
    /// told apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "S1")]
    pub speaker: Option<String>,
    /// Whether the user changed this line.
    pub edited: bool,
}
