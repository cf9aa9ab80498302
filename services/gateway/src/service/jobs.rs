//! Creating, reading, listing and cancelling jobs.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use voxline_core::script::{self, Script, ScriptFormat};
use voxline_core::{Credits, JobId, JobKind, JobOptions, JobStatus, Language};
use voxline_db::jobs::{self, Job, NewJob};
use voxline_db::{artifacts, uploads};

use crate::auth::Caller;
use crate::error::{ApiError, Code};
use crate::requests::{CreateJobRequest, ListJobsQuery};
use crate::state::AppState;
use crate::views::{ArtifactView, JobPage, JobSummary, JobView, PackageView, StageView, TaskView};

/// Validates and records a job under `id`, then dispatches its first stage.
/// Returns the job and whether this call created it (false for an
/// idempotent repeat, which answers the first job whatever `id` is).
pub async fn create(
    state: &AppState,
    caller: Caller,
    id: JobId,
    req: CreateJobRequest,
    idempotency_key: Option<String>,
) -> Result<(Job, bool), ApiError> {
    if idempotency_key
        .as_ref()
        .is_some_and(|k| k.is_empty() || k.len() > 200)
    {
        return Err(ApiError::new(
            Code::InvalidIdempotencyKey,
            "Idempotency-Key must be 1 to 200 characters",
        ));
    }
    let kind = req.kind()?;
    let mut options = voxline_core::JobOptions::try_from(&req.options)?;
    // PostgreSQL keeps no U+0000 in text: refused here, not failed in the insert.
    if serde_json::to_string(&options).is_ok_and(|json| json.contains("\\u0000")) {
        return Err(ApiError::new(
            Code::InvalidOption,
            "options hold a NUL character (U+0000), which cannot be stored; send plain text",
        ));
    }
    // The tenant's glossary, under the job's own terms.
    if req.options.tenant_glossary != Some(false) {
        let tenant = voxline_db::glossaries::get(&state.db, caller.tenant).await?;
        options.glossary = voxline_core::glossary::merge(&tenant.terms, &options.glossary);
    }
    if let Some(url) = &options.webhook_url {
        check_webhook(state, url).await?;
    }
    let source_upload = req.source_upload()?;
    let background_upload = req.background_upload()?;
    let source = uploads::get(&state.db, caller.tenant, source_upload).await.map_err(|e| match e {
        voxline_db::DbError::NotFound => ApiError::new(Code::UnknownUpload, "source_upload_id names no upload of yours; upload the media first (POST /v1/uploads)"),
        e => e.into(),
    })?;
    if let Some(bg) = background_upload {
        if !kind.speaks() {
            return Err(ApiError::new(
                Code::BackgroundNotAllowed,
                "a background track only applies to dub and voiceover jobs",
            ));
        }
        uploads::get(&state.db, caller.tenant, bg)
            .await
            .map_err(|e| match e {
                voxline_db::DbError::NotFound => ApiError::new(
                    Code::UnknownUpload,
                    "background_upload_id names no upload of yours",
                ),
                e => e.into(),
            })?;
    }
    check_sound(kind, &source)?;
    let script = read_script(kind, &req, &source)?;
    let source_language = match &script {
        // Nothing is heard: the language need only be one Voxline knows.
        Some(_) => script_language(&req.source_language)?,
        None => check_source_language(state, &req.source_language)?,
    };
    let targets = check_targets(state, kind, &req.target_languages, &source_language)?;
    let asked = options
        .voice
        .iter()
        .map(|v| ("options.voice".to_owned(), v))
        .chain(
            options
                .voices
                .iter()
                .map(|(speaker, v)| (format!("options.voices.{speaker}"), v)),
        );
    for (field, voice) in asked {
        check_voice(state, kind, &targets, &field, voice)?;
    }
    check_cloning(state, kind, &targets, &options)?;
    let publish = check_publishing(state, kind, &options)?;
    let request_hash = hex::encode(Sha256::digest(serde_json::to_vec(&req).unwrap_or_default()));
    let credits = &state.settings.credits;
    let prices = credits.enabled.then(|| {
        let languages = match kind {
            JobKind::Transcribe => vec![source_language.clone()],
            _ => targets.clone(),
        };
        languages
            .into_iter()
            .map(|l| {
                let price =
                    Credits::for_media(source.duration, credits.per_second, credits.multiplier(&l));
                (l, price)
            })
            .collect()
    });
    let created = state
        .creator
        .create(&NewJob {
            id,
            tenant_id: caller.tenant,
            kind,
            source_upload_id: source_upload,
            background_upload_id: background_upload,
            source_language,
            target_languages: targets,
            options,
            publish,
            duration: source.duration,
            idempotency_key,
            request_hash,
            priority: req.priority()?,
            max_attempts: state.settings.runner.max_attempts,
            max_in_flight: Some(i64::from(state.settings.server.max_jobs_in_flight)),
            // The request's span: every stage of the job traces under it.
            traceparent: voxline_telemetry::trace_context::current_traceparent(),
            prices,
            script,
        })
        .await?;
    if let Err(e) = state.queue.push(&created.dispatch).await {
        // The queued run is in PostgreSQL; the janitor's sweep sends it.
        tracing::warn!(error = %e, job_id = %created.job.id, "dispatch deferred to the janitor's sweep");
    }
    if created.created {
        tracing::info!(job_id = %created.job.id, kind = %created.job.kind, "job created");
    }
    Ok((created.job, created.created))
}

/// A source without sound (a picture alone) is only for a voiceover.
fn check_sound(kind: JobKind, source: &uploads::Upload) -> Result<(), ApiError> {
    let has_audio = serde_json::from_value::<voxline_media::MediaInfo>(source.media.clone())
        .map_or(true, |info| info.has_audio());
    if !has_audio && kind != JobKind::Voiceover {
        return Err(ApiError::new(
            Code::NoAudio,
            format!(
                "the source has no sound to {}; only a voiceover (a script spoken over it) can be made from it",
                if kind == JobKind::Transcribe {
                    "transcribe"
                } else {
                    "hear and dub"
                }
            ),
        ));
    }
    Ok(())
}

/// The job's script, read and checked against its source's length:
/// required for a voiceover, refused for a transcription.
fn read_script(
    kind: JobKind,
    req: &CreateJobRequest,
    source: &uploads::Upload,
) -> Result<Option<Script>, ApiError> {
    let Some(given) = &req.script else {
        if kind.needs_script() {
            return Err(ApiError::new(
                Code::ScriptRequired,
                "a voiceover speaks a script: give it as \"script\": {\"text\": \"0:00 Hello!\", \"format\": \"text\"} (SRT, WebVTT, JSON or timed text)",
            ));
        }
        return Ok(None);
    };
    if kind == JobKind::Transcribe {
        return Err(ApiError::new(
            Code::InvalidScript,
            "a transcribe job makes the transcript; to dub or subtitle from a transcript of your own, give it to a dub or subtitle job",
        ));
    }
    let format = given
        .format
        .as_deref()
        .map(ScriptFormat::parse)
        .transpose()
        .map_err(|e| ApiError::new(Code::InvalidScript, format!("script.format: {e}")))?;
    script::read(&given.text, format, source.duration)
        .map_err(|e| ApiError::new(Code::InvalidScript, format!("script: {e}")))
        .map(Some)
}

/// The language a script is written in: named, since nothing is heard to
/// tell it from.
fn script_language(code: &str) -> Result<String, ApiError> {
    if code.trim().eq_ignore_ascii_case("auto") {
        return Err(ApiError::new(
            Code::InvalidScript,
            "name the script's language in source_language (`auto` listens to the source, and a script is not heard)",
        ));
    }
    let lang =
        Language::parse(code).map_err(|e| ApiError::new(Code::UnknownLanguage, e.to_string()))?;
    Ok(lang.code.to_owned())
}

/// Cloning voices takes a dub and a voice engine that clones voices and
/// speaks one of its targets.
fn check_cloning(
    state: &AppState,
    kind: JobKind,
    targets: &[String],
    options: &voxline_core::JobOptions,
) -> Result<(), ApiError> {
    if options.clone_voices.is_none() {
        return Ok(());
    }
    if kind != JobKind::Dub {
        return Err(ApiError::new(
            Code::InvalidOption,
            "options.clone_voices applies to dub jobs only",
        ));
    }
    if state.engines.voice_cloner(targets).is_none() {
        return Err(ApiError::new(
            Code::InvalidOption,
            format!(
                "options.clone_voices: no voice engine that clones voices (ElevenLabs) is configured for {}",
                targets.join(", ")
            ),
        ));
    }
    Ok(())
}

/// A voice a dub asks for must be one an engine speaking each of its
/// targets lists; the error lists the voices each target has.
fn check_voice(
    state: &AppState,
    kind: JobKind,
    targets: &[String],
    field: &str,
    voice: &str,
) -> Result<(), ApiError> {
    if !kind.speaks() {
        return Err(ApiError::new(
            Code::InvalidOption,
            format!("{field} only applies to dub and voiceover jobs (nothing else is spoken)"),
        ));
    }
    let lacking: Vec<String> = targets
        .iter()
        .filter_map(|target| {
            let voices = state.engines.voices(target);
            (!voices.iter().any(|(_, v, _)| v == voice)).then(|| {
                let names: Vec<&str> = voices.iter().map(|(_, v, _)| v.as_str()).collect();
                format!(
                    "{target} ({})",
                    if names.is_empty() {
                        "no voice to choose from".to_owned()
                    } else {
                        names.join(", ")
                    }
                )
            })
        })
        .collect();
    if lacking.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(
        Code::UnknownVoice,
        format!(
            "{field} `{voice}` is not a voice of: {}; GET /v1/voices lists the voices of each language",
            lacking.join("; ")
        ),
    ))
}

/// Whether the job has a publish stage, checking what it asks to publish:
/// social posts need a Postiz vendor and a video, and a schedule needs
/// something to publish.
fn check_publishing(
    state: &AppState,
    kind: JobKind,
    options: &JobOptions,
) -> Result<bool, ApiError> {
    if options.social.is_some() {
        if !state
            .settings
            .vendors
            .values()
            .any(|v| matches!(v, voxline_config::VendorSettings::Postiz(_)))
        {
            return Err(ApiError::new(
                Code::SocialPublishingUnavailable,
                "options.social needs a Postiz vendor, and this server has none configured; ask its operator, or leave options.social out",
            ));
        }
        if kind == JobKind::Transcribe {
            return Err(ApiError::new(
                Code::InvalidOption,
                "options.social posts videos; a transcribe job makes none",
            ));
        }
    }
    let publish = options.social.is_some()
        || state
            .settings
            .publish
            .has_targets(options.webhook_url.as_deref());
    if options.publish_at.is_some() && !publish {
        return Err(ApiError::new(
            Code::InvalidOption,
            "options.publish_at schedules publishing, and this job publishes nowhere; add options.social or options.webhook_url",
        ));
    }
    Ok(publish)
}

/// A webhook URL must lead to the public internet (SSRF); the publisher
/// checks again at every connection.
async fn check_webhook(state: &AppState, url: &str) -> Result<(), ApiError> {
    let parsed = url::Url::parse(url)
        .map_err(|e| ApiError::new(Code::InvalidOption, format!("options.webhook_url: {e}")))?;
    state.outbound.check(&parsed).await.map_err(|e| {
        ApiError::new(
            Code::WebhookUrlNotAllowed,
            format!("options.webhook_url: {e}; give a URL on the public internet"),
        )
    })
}

fn check_source_language(state: &AppState, code: &str) -> Result<String, ApiError> {
    let served = state.engines.source_languages();
    if code.trim().eq_ignore_ascii_case("auto") {
        if state.engines.can_detect_language() {
            return Ok("auto".into());
        }
        return Err(ApiError::new(
            Code::LanguageDetectionUnavailable,
            format!(
                "no configured transcription engine detects the language; name it instead (one of: {})",
                served.join(", ")
            ),
        ));
    }
    let lang =
        Language::parse(code).map_err(|e| ApiError::new(Code::UnknownLanguage, e.to_string()))?;
    if !served.contains(&lang.code) {
        return Err(ApiError::new(
            Code::UnsupportedSourceLanguage,
            format!(
                "no configured transcription engine understands `{}`; these can be transcribed: {}",
                lang.code,
                served.join(", ")
            ),
        ));
    }
    Ok(lang.code.to_owned())
}

pub(crate) fn check_targets(
    state: &AppState,
    kind: JobKind,
    requested: &[String],
    source: &str,
) -> Result<Vec<String>, ApiError> {
    if kind == JobKind::Transcribe {
        if !requested.is_empty() {
            return Err(ApiError::new(
                Code::TargetsNotAllowed,
                "a transcribe job has no target languages; leave target_languages empty",
            ));
        }
        return Ok(vec![]);
    }
    let max = state.settings.server.max_target_languages;
    if requested.is_empty() {
        return Err(ApiError::new(
            Code::NoTargetLanguages,
            "name at least one target language, e.g. \"target_languages\": [\"es\"]",
        ));
    }
    if requested.len() > max {
        return Err(ApiError::new(
            Code::TooManyLanguages,
            format!("at most {max} target languages per job"),
        ));
    }
    let source_lang = Language::parse(source).ok();
    let needs_speech = kind.speaks();
    // A voiceover may speak its script as written, too.
    let as_written = kind == JobKind::Voiceover;
    let mut seen = HashSet::new();
    let mut targets = Vec::new();
    for code in requested {
        let lang = Language::parse(code)
            .map_err(|e| ApiError::new(Code::UnknownLanguage, e.to_string()))?;
        if !seen.insert(lang.code) {
            return Err(ApiError::new(
                Code::DuplicateLanguage,
                format!("`{}` is listed twice in target_languages", lang.code),
            ));
        }
        if Some(lang) == source_lang && !as_written {
            return Err(ApiError::new(
                Code::SameLanguage,
                format!(
                    "`{}` is the source language; pick another target",
                    lang.code
                ),
            ));
        }
        targets.push(lang);
    }
    let mut servable = match &source_lang {
        Some(src) => state.engines.servable_targets(src, needs_speech),
        None => state.engines.servable_from_detected(needs_speech),
    };
    if let Some(src) =
        source_lang.filter(|src| as_written && state.engines.speaks_language(src.code))
    {
        servable.push(src.code);
    }
    let unservable: Vec<&str> = targets
        .iter()
        .map(|l| l.code)
        .filter(|c| !servable.contains(c))
        .collect();
    if !unservable.is_empty() {
        return Err(ApiError::new(
            Code::UnsupportedLanguage,
            format!(
                "no configured engine chain can {} into: {}. From `{source}` these can be served: {}",
                if needs_speech { "dub" } else { "translate" },
                unservable.join(", "),
                if servable.is_empty() {
                    "none".to_owned()
                } else {
                    servable.join(", ")
                }
            ),
        ));
    }
    Ok(targets.iter().map(|l| l.code.to_owned()).collect())
}

/// The full view of a tenant's job, with fresh download links.
pub async fn view(state: &AppState, caller: Caller, id: JobId) -> Result<JobView, ApiError> {
    let snapshot = state
        .snapshots
        .get(caller.tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    let mut source_artifacts = Vec::new();
    for a in snapshot
        .artifacts
        .iter()
        .filter(|a| a.stage == "transcribe" && !is_package_file(a))
    {
        source_artifacts.push(linked(state, a).await?);
    }
    let mut task_views = Vec::with_capacity(snapshot.tasks.len());
    for t in &snapshot.tasks {
        let stages = snapshot
            .runs
            .iter()
            .filter(|r| {
                t.stages.contains(&r.stage) && (r.language == t.language || r.stage.is_job_level())
            })
            .map(StageView::from)
            .collect();
        let mut files = Vec::new();
        for a in snapshot
            .artifacts
            .iter()
            .filter(|a| a.language == t.language && a.stage != "transcribe" && !is_package_file(a))
        {
            files.push(linked(state, a).await?);
        }
        task_views.push(TaskView::new(t, stages, files));
    }
    let mut view = JobView::new(
        &snapshot.job,
        source_artifacts,
        task_views,
        snapshot
            .usage
            .iter()
            .map(crate::views::UsageView::from)
            .collect(),
    );
    let job = &snapshot.job;
    let source = voxline_storage::keys::upload(job.tenant_id, job.source_upload_id);
    view.source_url = Some(state.storage.download_url(&source, "source").await?);
    if super::package::is_packaged(&snapshot.artifacts) {
        let (folder, expires) = state.storage.package_link(&job.id.to_string());
        view.package = Some(PackageView {
            hls_url: format!("{folder}master.m3u8"),
            dash_url: format!("{folder}manifest.mpd"),
            mp4_url: format!("{folder}all.mp4"),
            expires_at: chrono::DateTime::from_timestamp(expires, 0).unwrap_or_default(),
        });
    }
    Ok(view)
}

/// Renditions are reached through the package, not listed one by one.
fn is_package_file(a: &artifacts::Artifact) -> bool {
    a.kind.starts_with("stream_")
}

/// A file's view, with a download link signed now.
async fn linked(state: &AppState, a: &artifacts::Artifact) -> Result<ArtifactView, ApiError> {
    let url = state
        .storage
        .download_url(&a.object_key, &a.file_name)
        .await?;
    Ok(ArtifactView::new(a, url))
}

pub async fn list(state: &AppState, caller: Caller, q: ListJobsQuery) -> Result<JobPage, ApiError> {
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::new(
            Code::InvalidLimit,
            "limit must be between 1 and 100",
        ));
    }
    let status = q
        .status
        .as_deref()
        .map(JobStatus::parse)
        .transpose()
        .map_err(|e| ApiError::new(Code::InvalidStatus, e.to_string()))?;
    let before = q.cursor.as_deref().map(parse_cursor).transpose()?;
    let mut page = jobs::list(&state.db, caller.tenant, status, before, limit + 1).await?;
    let next_cursor = if page.len() as i64 > limit {
        page.truncate(limit as usize);
        page.last()
            .map(|j| format!("{}_{}", j.created_at.timestamp_micros(), j.id))
    } else {
        None
    };
    Ok(JobPage {
        jobs: page.iter().map(JobSummary::from).collect(),
        next_cursor,
    })
}

fn parse_cursor(text: &str) -> Result<(DateTime<Utc>, JobId), ApiError> {
    let bad = || {
        ApiError::new(
            Code::InvalidCursor,
            "cursor must be a next_cursor value from an earlier page",
        )
    };
    let (micros, id) = text.split_once('_').ok_or_else(bad)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    Ok((at, JobId::parse(id).map_err(|_| bad())?))
}

pub async fn cancel(state: &AppState, caller: Caller, id: JobId) -> Result<JobView, ApiError> {
    jobs::cancel(&state.db, Some(caller.tenant), id).await?;
    tracing::info!(job_id = %id, "job cancelled");
    view(state, caller, id).await
}

pub(crate) fn not_found_job(e: voxline_db::DbError) -> ApiError {
    match e {
        voxline_db::DbError::NotFound => ApiError::not_found("job"),
        e => e.into(),
    }
}

/// Resumes the failed tasks of a job from their failed stage.
pub async fn retry(state: &AppState, caller: Caller, id: JobId) -> Result<JobView, ApiError> {
    let dispatch = jobs::retry(&state.db, Some(caller.tenant), id).await?;
    if let Err(e) = state.queue.push(&dispatch).await {
        tracing::warn!(error = %e, job_id = %id, "dispatch deferred to the janitor's sweep");
    }
    tracing::info!(job_id = %id, stages = dispatch.len(), "job retried");
    view(state, caller, id).await
}

/// The webhook delivery log of a tenant's job.
pub async fn deliveries(
    state: &AppState,
    caller: Caller,
    id: JobId,
) -> Result<Vec<crate::views::DeliveryView>, ApiError> {
    let log = voxline_db::deliveries::for_job(&state.db, caller.tenant, id)
        .await
        .map_err(not_found_job)?;
    Ok(log.iter().map(crate::views::DeliveryView::from).collect())
}
