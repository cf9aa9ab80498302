//! The JSON the native API accepts. Words (kinds, modes) arrive as strings
//! and are converted to domain values here, so a wrong one gets a 422 that
//! names what is allowed.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use voxline_core::glossary::Term;
use voxline_core::{JobKind, JobOptions, Priority, SocialOptions, SubtitleMode, UploadId};

use crate::error::{ApiError, Code};
use crate::schemas::{GlossaryTerm, GlossaryText, LanguageCode, SourceLanguage};

/// A whole number, written as JSON writes integers (`7`) or as some
/// encoders write every number (`7.0`): JSON Schema's `integer` is both.
fn whole_number<'de, D: serde::Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<T, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    n.as_u64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(f))
                .map(|f| f as u64)
        })
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole number in range")))
}

/// [`whole_number`], for a field that may be left out or null.
fn some_whole_number<'de, D: serde::Deserializer<'de>, T: TryFrom<u64>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    #[derive(Deserialize)]
    struct Whole<T: TryFrom<u64>>(#[serde(deserialize_with = "whole_number")] T);
    Ok(Option::<Whole<T>>::deserialize(d)?.map(|w| w.0))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateJobRequest {
    /// What to produce.
    /// `voiceover` speaks a script over the source in each target language
    /// (the script's own language included), with the source's sound kept
    /// under the voice.
    #[schema(example = "dub", pattern = "^(dub|subtitle|transcribe|voiceover)$")]
    pub kind: String,
    /// An upload of yours (`POST /v1/uploads`).
    pub source_upload_id: String,
    /// A separate background track to mix under the dub (dub jobs only).
    #[serde(default)]
    pub background_upload_id: Option<String>,
    /// ISO 639-1 code of the spoken language, or `auto` where an engine detects it.
    #[serde(default = "default_source")]
    #[schema(example = "en", value_type = SourceLanguage)]
    pub source_language: String,
    /// ISO 639-1 codes to dub or subtitle into (none for `transcribe`),
    /// each once, at most `server.max_target_languages` of them.
    #[serde(default)]
    #[schema(example = json!(["es"]), value_type = Vec<LanguageCode>)]
    pub target_languages: Vec<String>,
    #[serde(default)]
    pub options: JobOptionsRequest,
    /// How soon the job's stages are served, among the account's own jobs:
    /// `low`, `normal` (the default), `high` or `urgent`, up to the
    /// account's allowance. Accounts are served in turn whatever their jobs'
    /// priorities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(low|normal|high|urgent)$")]
    pub priority: Option<String>,
    /// The lines, given instead of heard, in `source_language` (which must
    /// then be named): the source's transcript for a `dub` or `subtitle`
    /// job, whose transcription is then skipped; what a `voiceover` says
    /// (required there). Not for `transcribe` jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<ScriptRequest>,
}

/// A script: SubRip, WebVTT, JSON or timed plain text (see
/// `docs/scripts.md`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptRequest {
    /// The script's whole text, at most 10,000 lines, each within the
    /// media's length.
    #[schema(
        min_length = 1,
        max_length = 2000000,
        example = "1\n00:00:00,500 --> 00:00:02,400\nWelcome to the workshop.\n"
    )]
    pub text: String,
    /// `srt`, `vtt`, `json` (a Voxline transcript, or a list of
    /// `{start, end, text, speaker}`) or `text` (`0:05 Welcome` per line);
    /// told from the text when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(srt|vtt|json|text)$")]
    pub format: Option<String>,
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
    /// Post each finished language's video to social channels (through the
    /// Postiz vendor the operator configured).
    pub social: Option<SocialRequest>,
    /// Publish no earlier than this RFC 3339 time (within a year): the
    /// finished work waits, and the publishing happens on time.
    #[schema(example = "2026-12-01T09:00:00Z")]
    pub publish_at: Option<String>,
    /// The voice every target language is spoken in (dubs only), by a name
    /// `GET /v1/voices` lists for each of them; each language's configured
    /// voice when absent.
    #[schema(
        example = "jf_alpha",
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9_.-]+$"
    )]
    pub voice: Option<String>,
    /// Terms every translation honours (at most 500): kept as they are
    /// (names, brands), or translated a fixed way per target language.
    /// Terms a translation could not honour are listed in the task's report.
    #[schema(max_items = 500)]
    pub glossary: Option<Vec<GlossaryTermRequest>>,
    /// How many people speak in the source (1 to 16), when you know: the
    /// lines are shared among exactly that many speakers. Left out, the
    /// speakers are found by how alike their voices are.
    #[schema(minimum = 1, maximum = 16)]
    #[serde(default, deserialize_with = "some_whole_number")]
    pub speakers: Option<usize>,
    /// The voice of each speaker (dubs only), by label (`S1`, `S2`, … as
    /// the segments name them) → a voice's name `GET /v1/voices` lists for
    /// every target. Speakers left out get a voice of their own.
    #[schema(example = json!({"S1": "jm_kumo", "S2": "jf_alpha"}))]
    pub voices: Option<std::collections::BTreeMap<String, String>>,
    /// Subtitles show who speaks: a line said by another speaker than the
    /// one before opens with the speaker's label (`S2: …`). Off by default.
    pub speaker_labels: Option<bool>,
    /// Whether the tenant's glossary (`PUT /v1/glossary`) applies too, its
    /// terms merged under the job's own (true by default).
    pub tenant_glossary: Option<bool>,
    /// Speak each speaker in a voice cloned from their own speech (dubs
    /// only, with a voice engine that clones voices, such as ElevenLabs,
    /// configured for a target). `consent` must be true: you state that
    /// every speaker agreed. The clones are deleted at the vendor when the
    /// job's files expire.
    pub clone_voices: Option<CloneVoicesRequest>,
    /// Also an MP3 of each language's full mix and of its voice alone
    /// (files `dub_mp3` and `voice_mp3`), for platforms that take only MP3
    /// (dubs only; off by default).
    pub mp3: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloneVoicesRequest {
    /// You state that every speaker in the source agreed to have their
    /// voice cloned for this dub. Must be true.
    pub consent: bool,
}

/// The tenant's glossary, replaced whole: terms every job of theirs honours.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GlossaryRequest {
    /// At most 500 terms; an empty list clears the glossary.
    #[schema(max_items = 500)]
    pub terms: Vec<GlossaryTermRequest>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GlossaryTermRequest {
    /// The words as the source says them, matched whole in any case.
    #[schema(example = "Voxline", value_type = GlossaryTerm)]
    pub term: String,
    /// Its fixed translation per target language (ISO 639-1 code → text);
    /// a language without one keeps the term as it is.
    #[schema(example = json!({"es": "doblaje"}),
        value_type = Option<std::collections::BTreeMap<LanguageCode, GlossaryText>>)]
    pub translations: Option<std::collections::BTreeMap<String, String>>,
    /// How the voice should say it per target language: a respelling read
    /// in its place (the subtitles still show the term).
    #[schema(example = json!({"es": "bócslain"}),
        value_type = Option<std::collections::BTreeMap<LanguageCode, GlossaryText>>)]
    pub pronunciations: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SocialRequest {
    /// A platform (`youtube`, `tiktok`, `instagram`, `linkedin`, `x`, ...)
    /// posts on every connected account of it; anything else names one
    /// connected channel by its Postiz id.
    #[schema(example = json!(["youtube", "tiktok"]))]
    pub channels: Vec<String>,
    /// The post's text; `{language}` becomes the language's name.
    #[schema(example = "Our show, now in {language}")]
    pub caption: Option<String>,
    /// Settings per platform over Voxline's defaults, such as
    /// `{"youtube": {"title": "...", "type": "unlisted"}}`.
    #[schema(value_type = Object)]
    pub settings: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Most channels one job may post on.
const MAX_CHANNELS: usize = 20;
/// Longest caption accepted (the longest any platform takes is shorter).
const MAX_CAPTION: usize = 5_000;

impl SocialRequest {
    fn check(&self) -> Result<SocialOptions, ApiError> {
        let invalid = |m: String| ApiError::new(Code::InvalidOption, m);
        if self.channels.is_empty() || self.channels.len() > MAX_CHANNELS {
            return Err(invalid(format!(
                "options.social.channels must name 1 to {MAX_CHANNELS} channels, such as [\"youtube\"]"
            )));
        }
        for c in &self.channels {
            if c.trim().is_empty() || c.len() > 100 {
                return Err(invalid(
                    "options.social.channels: each entry is a platform or a channel id of at most 100 characters".into(),
                ));
            }
        }
        let caption = self.caption.clone().unwrap_or_default();
        if caption.chars().count() > MAX_CAPTION {
            return Err(invalid(format!(
                "options.social.caption is longer than {MAX_CAPTION} characters"
            )));
        }
        let settings = self.settings.clone().unwrap_or_default();
        if let Some((platform, _)) = settings.iter().find(|(_, v)| !v.is_object()) {
            return Err(invalid(format!(
                "options.social.settings.{platform} must be an object of that platform's settings"
            )));
        }
        Ok(SocialOptions {
            channels: self.channels.iter().map(|c| c.trim().to_owned()).collect(),
            caption,
            settings,
        })
    }
}

/// Furthest ahead a job may be scheduled.
const MAX_SCHEDULE_DAYS: i64 = 366;

fn parse_publish_at(text: &str) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    let invalid = |m: &str| ApiError::new(Code::InvalidOption, m);
    let at = chrono::DateTime::parse_from_rfc3339(text.trim())
        .map_err(|_| {
            invalid("options.publish_at must be an RFC 3339 time such as 2026-12-01T09:00:00Z")
        })?
        .with_timezone(&chrono::Utc);
    let now = chrono::Utc::now();
    if at < now - chrono::Duration::minutes(1) {
        return Err(invalid(
            "options.publish_at is in the past; leave it out to publish as soon as the work is done",
        ));
    }
    if at > now + chrono::Duration::days(MAX_SCHEDULE_DAYS) {
        return Err(invalid("options.publish_at may be at most a year ahead"));
    }
    Ok(at)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    /// What the key is for, for people: `ci`, `laptop`.
    /// 1 to 100 characters, no control characters, not blank.
    #[schema(
        example = "ci",
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
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
    /// With `to` given too, it must come before `to`, at most 366 days
    /// earlier (a 400 `invalid_period` otherwise).
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// End of the period, exclusive (RFC 3339); 30 days after `from` when
    /// only `from` is given, now when neither is.
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
        JobKind::parse(&self.kind).map_err(|e| ApiError::new(Code::InvalidKind, e.to_string()))
    }

    pub fn priority(&self) -> Result<Priority, ApiError> {
        self.priority.as_deref().map_or(Ok(Priority::Normal), |p| {
            Priority::parse(p).map_err(|e| ApiError::new(Code::InvalidPriority, e.to_string()))
        })
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
                ApiError::new(Code::InvalidOption, format!("options.subtitles: {e}"))
            })?,
            None => defaults.subtitles,
        };
        if let Some(url) = &o.webhook_url {
            let parsed = url::Url::parse(url).map_err(|e| {
                ApiError::new(Code::InvalidOption, format!("options.webhook_url: {e}"))
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(ApiError::new(
                    Code::InvalidOption,
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
            social: o.social.as_ref().map(SocialRequest::check).transpose()?,
            publish_at: o.publish_at.as_deref().map(parse_publish_at).transpose()?,
            voice: o
                .voice
                .as_deref()
                .map(|v| check_voice("options.voice", v))
                .transpose()?,
            speakers: o.speakers.map(check_speakers).transpose()?,
            voices: o
                .voices
                .iter()
                .flatten()
                .map(|(speaker, voice)| {
                    voxline_core::speakers::check_label(speaker).map_err(|m| {
                        ApiError::new(Code::InvalidOption, format!("options.voices: {m}"))
                    })?;
                    let voice = check_voice(&format!("options.voices.{speaker}"), voice)?;
                    Ok((speaker.clone(), voice))
                })
                .collect::<Result<_, ApiError>>()?,
            speaker_labels: o.speaker_labels.unwrap_or(defaults.speaker_labels),
            mp3: o.mp3.unwrap_or(defaults.mp3),
            clone_voices: o
                .clone_voices
                .as_ref()
                .map(|c| {
                    if c.consent {
                        Ok(voxline_core::CloneVoices { consent: true })
                    } else {
                        Err(ApiError::new(
                            Code::InvalidOption,
                            "options.clone_voices.consent must be true: a voice is cloned only when every speaker agreed, and the job states it",
                        ))
                    }
                })
                .transpose()?,
            glossary: o
                .glossary
                .as_deref()
                .map(|terms| check_glossary(terms, "options.glossary", Code::InvalidOption))
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

/// A glossary: at most 500 terms of 1 to 100 characters, each translation
/// of 1 to 200 under a language code Voxline knows.
pub(crate) fn check_glossary(
    terms: &[GlossaryTermRequest],
    field: &str,
    code: Code,
) -> Result<Vec<Term>, ApiError> {
    let bad = |m: String| ApiError::new(code, format!("{field}: {m}"));
    if terms.len() > 500 {
        return Err(bad(format!("{} terms; at most 500", terms.len())));
    }
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let term = t.term.trim();
            if term.is_empty() || term.chars().count() > 100 {
                return Err(bad(format!("term {i} must be 1 to 100 characters")));
            }
            if term.chars().any(char::is_control) {
                return Err(bad(format!(
                    "term {i} holds control characters; send plain text"
                )));
            }
            let per_language = |map: &Option<std::collections::BTreeMap<String, String>>,
                                what: &str| {
                let mut out = std::collections::BTreeMap::new();
                for (code, text) in map.iter().flatten() {
                    let language = voxline_core::Language::parse(code)
                        .map_err(|e| bad(format!("term {term:?}: {e}")))?;
                    let text = text.trim();
                    if text.is_empty() || text.chars().count() > 200 {
                        return Err(bad(format!(
                            "term {term:?}: its {code} {what} must be 1 to 200 characters"
                        )));
                    }
                    if text.chars().any(char::is_control) {
                        return Err(bad(format!(
                            "term {term:?}: its {code} {what} holds control characters; send plain text"
                        )));
                    }
                    out.insert(language.code.to_owned(), text.to_owned());
                }
                Ok(out)
            };
            let translations = per_language(&t.translations, "translation")?;
            let pronunciations = per_language(&t.pronunciations, "pronunciation")?;
            Ok(Term {
                term: term.to_owned(),
                translations,
                pronunciations,
            })
        })
        .collect()
}

/// How many speakers a job says it has: 1 to 16.
fn check_speakers(count: usize) -> Result<usize, ApiError> {
    let most = voxline_core::speakers::MAX_SPEAKERS;
    if (1..=most).contains(&count) {
        Ok(count)
    } else {
        Err(ApiError::new(
            Code::InvalidOption,
            format!(
                "options.speakers is {count}; give 1 to {most}, or leave it out to have the speakers found"
            ),
        ))
    }
}

/// A voice's name (`field` says where it was given): 1 to 64 letters,
/// digits, `_`, `.` or `-`.
fn check_voice(field: &str, name: &str) -> Result<String, ApiError> {
    let fine = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if fine {
        Ok(name.to_owned())
    } else {
        Err(ApiError::new(
            Code::InvalidOption,
            format!(
                "{field} must be a voice's name: 1 to 64 letters, digits, `_`, `.` or `-` (GET /v1/voices lists them)"
            ),
        ))
    }
}

fn parse_upload_id(field: &str, text: &str) -> Result<UploadId, ApiError> {
    UploadId::parse(text).map_err(|e| ApiError::new(Code::InvalidId, format!("{field}: {e}")))
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
    #[param(
        pattern = "^[0-9]{1,16}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name, for people and for the extension of downloads.
    pub filename: Option<String>,
}

/// New text (and, optionally, timings) for some of a task's lines.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditSegmentsRequest {
    /// The lines to change, by id (at most 2000, and the body at most
    /// `server.max_json_bytes`); lines not named keep what they have.
    #[schema(min_items = 1)]
    pub segments: Vec<SegmentEditRequest>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentEditRequest {
    /// The line's id, from `GET .../segments`.
    #[schema(minimum = 1, maximum = 4294967295u32)]
    #[serde(deserialize_with = "whole_number")]
    pub id: u32,
    /// What the line says from now on (1 to 1000 characters, not blank,
    /// no control characters but line breaks and tabs).
    #[serde(default)]
    #[schema(
        example = "Hola a todos.",
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"
    )]
    pub text: Option<String>,
    /// Where the line starts, in seconds on the source's timeline.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub start: Option<f64>,
    /// Where it ends; after `start`, before the next line starts.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub end: Option<f64>,
    /// Who says the line from now on: a speaker label such as `S2` (1 to
    /// 32 ASCII letters, digits, `_` or `-`); its voice follows `options.voices`
    /// or the speaker's default.
    #[serde(default)]
    #[schema(
        example = "S2",
        min_length = 1,
        max_length = 32,
        pattern = "^[A-Za-z0-9_-]{1,32}$"
    )]
    pub speaker: Option<String>,
}

impl TryFrom<EditSegmentsRequest> for voxline_core::edits::Edits {
    type Error = ApiError;

    fn try_from(req: EditSegmentsRequest) -> Result<Self, ApiError> {
        let invalid = |m: String| ApiError::new(Code::InvalidSegments, m);
        if req.segments.is_empty() {
            return Err(invalid(
                "`segments` is empty: name at least one line to change".into(),
            ));
        }
        if req.segments.len() > 2000 {
            return Err(invalid("`segments` holds more than 2000 lines".into()));
        }
        let mut edits = Self::new();
        for s in req.segments {
            if s.text.is_none() && s.start.is_none() && s.end.is_none() && s.speaker.is_none() {
                return Err(invalid(format!(
                    "segment {}: give a new `text`, `start`, `end` or `speaker`",
                    s.id
                )));
            }
            let edit = voxline_core::edits::SegmentEdit {
                text: s.text.map(|t| t.trim().to_owned()),
                start: s.start,
                end: s.end,
                speaker: s.speaker,
            };
            if edits.insert(s.id, edit).is_some() {
                return Err(invalid(format!("segment {} is named twice", s.id)));
            }
        }
        Ok(edits)
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OverviewQuery {
    /// The period of the job history and the tenants' usage, in hours
    /// (24 by default).
    #[param(minimum = 1, maximum = 168)]
    pub hours: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_may_be_written_with_a_point() {
        let edit: SegmentEditRequest = serde_json::from_str(r#"{"id": 3989.0}"#).unwrap();
        assert_eq!(edit.id, 3989);
        assert!(serde_json::from_str::<SegmentEditRequest>(r#"{"id": 3.5}"#).is_err());
        assert!(serde_json::from_str::<SegmentEditRequest>(r#"{"id": -1}"#).is_err());
        assert!(serde_json::from_str::<SegmentEditRequest>(r#"{"id": 5e9}"#).is_err());
        let options: JobOptionsRequest = serde_json::from_str(r#"{"speakers": 4.0}"#).unwrap();
        assert_eq!(options.speakers, Some(4));
        let options: JobOptionsRequest = serde_json::from_str(r#"{"speakers": null}"#).unwrap();
        assert_eq!(options.speakers, None);
        let options: JobOptionsRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(options.speakers, None);
    }
}
