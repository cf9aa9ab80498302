//! The frontend's calls, mapped onto Voxline's own services: a draft holds
//! the job id and upload ids promised with the upload URLs; creation checks
//! the uploaded files like any upload and makes a dub job with that id.

use std::collections::BTreeMap;

use chrono::Utc;
use voxline_core::{JobId, JobKind, Language, TaskStatus, UploadId};
use voxline_db::artifacts::{self, Artifact};
use voxline_db::drafts::{self, Draft};
use voxline_db::jobs::{self, Job, Task};
use voxline_db::{DbError, uploads};
use voxline_storage::keys;

use super::status::{job_status, percent, remaining_seconds, task_status};
use super::wire::*;
use crate::auth::Caller;
use crate::error::{ApiError, Code};
use crate::requests::{self, JobOptionsRequest};
use crate::service::jobs::not_found_job;
use crate::service::uploads::{clean_file_name, register_stored};
use crate::state::AppState;

/// Most jobs `GET /api/jobs` lists, and files `GET /api/downloads` lists.
const LIST_LIMIT: i64 = 100;
const DOWNLOADS_LIMIT: i64 = 500;

pub async fn upload_urls(
    state: &AppState,
    caller: Caller,
    req: UploadUrlsRequest,
) -> Result<UploadUrlsResponse, ApiError> {
    let languages = targets(state, &req.languages)?;
    let voice_name =
        track_name("voice_track_name", Some(&req.voice_track_name))?.expect("a name was given");
    let background_name = track_name(
        "background_track_name",
        req.background_track_name.as_deref(),
    )?;
    let draft = Draft {
        job_id: JobId::new(),
        tenant_id: caller.tenant,
        languages,
        voice_upload_id: UploadId::new(),
        voice_file_name: voice_name,
        background_upload_id: background_name.as_ref().map(|_| UploadId::new()),
        background_file_name: background_name,
        created_at: Utc::now(),
    };
    drafts::insert(&state.db, &draft).await?;
    let voice_track = state
        .storage
        .upload_url(&keys::incoming(caller.tenant, draft.voice_upload_id))
        .await?;
    let background_track = match draft.background_upload_id {
        Some(id) => Some(
            state
                .storage
                .upload_url(&keys::incoming(caller.tenant, id))
                .await?,
        ),
        None => None,
    };
    tracing::info!(job_id = %draft.job_id, "upload urls issued");
    Ok(UploadUrlsResponse {
        job_id: draft.job_id.to_string(),
        upload_urls: UploadUrls {
            voice_track,
            background_track,
        },
    })
}

fn targets(state: &AppState, languages: &[String]) -> Result<Vec<String>, ApiError> {
    crate::service::jobs::check_targets(
        state,
        JobKind::Dub,
        languages,
        &state.settings.compat.source_language,
    )
}

fn track_name(field: &str, raw: Option<&str>) -> Result<Option<String>, ApiError> {
    match raw {
        None => Ok(None),
        Some(name) if name.trim().is_empty() || name.contains('\u{FFFD}') => Err(ApiError::new(
            Code::InvalidFileName,
            format!("{field} must be the file's name, such as \"voice.mp3\""),
        )),
        Some(name) => Ok(Some(clean_file_name(name))),
    }
}

/// Turns a draft into a dub job. Returns the answer and whether this call
/// created the job (the frontend retries blindly; repeats answer the same).
pub async fn create(
    state: &AppState,
    caller: Caller,
    req: SubmitJobRequest,
) -> Result<(CreatedJob, bool), ApiError> {
    let id = job_id(&req.job_id)?;
    if let Ok(job) = jobs::get(&state.db, caller.tenant, id).await {
        return Ok((created_answer(&job), false));
    }
    let draft = drafts::get(&state.db, caller.tenant, id)
        .await
        .map_err(|e| match e {
            DbError::NotFound => ApiError::not_found("job").with_message(
                "no upload URLs were issued for this job_id; call POST /api/jobs/upload-urls first",
            ),
            e => e.into(),
        })?;
    if !req.voice_track_uploaded {
        return Err(ApiError::new(
            Code::VoiceTrackMissing,
            "a job needs its voice track: PUT it to upload_urls.voice_track, then send voice_track_uploaded: true",
        ));
    }
    let background = match (req.background_track_uploaded, draft.background_upload_id) {
        (false, _) => None,
        (true, Some(bg)) => Some((bg, draft.background_file_name.clone().unwrap_or_default())),
        (true, None) => {
            return Err(ApiError::new(
                Code::BackgroundTrackNotExpected,
                "no background upload URL was issued for this job; name background_track_name when asking for upload URLs",
            ));
        }
    };
    let max = state.settings.compat.max_track_bytes;
    let voice = register_stored(
        state,
        caller,
        draft.voice_upload_id,
        &draft.voice_file_name,
        max,
    )
    .await
    .map_err(|e| not_uploaded(e, "voice"))?;
    let background = match background {
        Some((bg, name)) => Some(
            register_stored(state, caller, bg, &name, max)
                .await
                .map_err(|e| not_uploaded(e, "background"))?,
        ),
        None => None,
    };
    if let Some(bg) = &background {
        let allowed = state.settings.compat.max_duration_difference_seconds;
        if (voice.duration - bg.duration).abs() > allowed {
            return Err(ApiError::new(Code::DurationMismatch,
                format!(
                    "the voice track lasts {:.1} s and the background track {:.1} s; they may differ by at most {allowed} s",
                    voice.duration, bg.duration
                ),
            )
            .with_detail("voice_duration", round2(voice.duration))
            .with_detail("background_duration", round2(bg.duration)));
        }
    }
    let native = requests::CreateJobRequest {
        kind: "dub".into(),
        source_upload_id: voice.id.to_string(),
        background_upload_id: background.as_ref().map(|b| b.id.to_string()),
        source_language: state.settings.compat.source_language.clone(),
        target_languages: req.languages.clone(),
        // The frontend saves every download as `…_dub.mp3`.
        options: JobOptionsRequest {
            mp3: Some(true),
            ..JobOptionsRequest::default()
        },
        priority: None,
        script: None,
    };
    let key = Some(format!("frontend-{id}"));
    let (job, created) = crate::service::jobs::create(state, caller, id, native, key).await?;
    if let Err(e) = drafts::delete(&state.db, id).await {
        tracing::warn!(error = %e, job_id = %id, "draft left behind; the janitor will remove it");
    }
    Ok((created_answer(&job), created))
}

fn created_answer(job: &Job) -> CreatedJob {
    CreatedJob {
        job_id: job.id.to_string(),
        status: job_status(job.status, &[]),
        message: format!("dubbing into {}", job.target_languages.join(", ")),
    }
}

fn not_uploaded(e: ApiError, track: &str) -> ApiError {
    if e.code == Code::NotFound {
        ApiError::new(
            Code::UploadMissing,
            format!(
                "the {track} track has not been uploaded: PUT the file to upload_urls.{track}_track first"
            ),
        )
    } else {
        e
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn job_id(text: &str) -> Result<JobId, ApiError> {
    JobId::parse(text).map_err(|_| ApiError::not_found("job"))
}

/// The kinds of file behind each of the frontend's download types, the
/// first present preferred: the frontend saves every download as
/// `<job>_<lang>_dub.mp3`, so its jobs make MP3s (`options.mp3`); a job
/// made through the native API may have only the dubbed media.
const FULL: &[&str] = &["dub_mp3", "dub"];
const VOICE: &[&str] = &["voice_mp3", "voice"];
const CAPTIONS: &[&str] = &["subtitles_srt"];

/// A language's file of the first kind of `kinds` the job has.
fn pick<'a>(
    files: &'a [Artifact],
    job: JobId,
    language: &str,
    kinds: &[&str],
) -> Option<&'a Artifact> {
    kinds.iter().find_map(|kind| {
        files
            .iter()
            .find(|a| a.job_id == job && a.language == language && a.kind == *kind)
    })
}

/// What the frontend polls: the job, or a draft still waiting for its files.
pub async fn status(state: &AppState, caller: Caller, id: &str) -> Result<JobStatusView, ApiError> {
    let id = job_id(id)?;
    match state.snapshots.get(caller.tenant, id).await? {
        Some(s) => job_view(state, &s.job, &s.tasks, &s.artifacts).await,
        // Not a job yet: a draft still waiting for its files.
        None => {
            let draft = drafts::get(&state.db, caller.tenant, id)
                .await
                .map_err(not_found_job)?;
            Ok(draft_view(&draft))
        }
    }
}

async fn job_view(
    state: &AppState,
    job: &Job,
    tasks: &[Task],
    files: &[Artifact],
) -> Result<JobStatusView, ApiError> {
    let now = Utc::now();
    let mut languages = Vec::with_capacity(tasks.len());
    for t in tasks {
        let dub = pick(files, job.id, &t.language, FULL);
        let download_url = match dub {
            Some(a) if t.status == TaskStatus::Completed => Some(
                state
                    .storage
                    .download_url(&a.object_key, &a.file_name)
                    .await?,
            ),
            _ => None,
        };
        let language = Language::parse(&t.language).ok();
        languages.push(LanguageStatus {
            language_code: t.language.clone(),
            language_name: language.map_or_else(|| t.language.clone(), |l| l.name.to_owned()),
            flag: language.map(|l| l.flag.to_owned()).unwrap_or_default(),
            status: task_status(t),
            progress: percent(t.progress),
            message: t.error_message.clone().unwrap_or_else(|| t.message.clone()),
            estimated_time_remaining: remaining_seconds(t.started_at, t.progress, now),
            file_size: download_url.as_ref().and(dub.map(|a| a.size_bytes)),
            download_url,
        });
    }
    let summary = Summary::of(job, tasks);
    Ok(JobStatusView {
        id: job.id.to_string(),
        status: summary.status,
        progress: percent(summary.progress),
        message: summary.message,
        total_languages: tasks.len(),
        completed_languages: summary.completed,
        started_at: job.started_at.unwrap_or(job.created_at),
        estimated_completion: remaining_seconds(job.started_at, summary.progress, now)
            .map(|s| now + chrono::Duration::seconds(s as i64)),
        languages,
    })
}

/// A job as the frontend's status card and job list show it.
struct Summary {
    status: &'static str,
    /// 0–1, the mean of the languages'.
    progress: f64,
    message: String,
    completed: usize,
}

impl Summary {
    fn of(job: &Job, tasks: &[Task]) -> Self {
        let progress = if tasks.is_empty() {
            0.0
        } else {
            tasks.iter().map(|t| t.progress).sum::<f64>() / tasks.len() as f64
        };
        let completed = tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Completed)
            .count();
        let status = job_status(job.status, tasks);
        let message = match status {
            "complete" => format!("dubbed into {completed} languages"),
            "error" => tasks
                .iter()
                .find_map(|t| t.error_message.clone())
                .unwrap_or_else(|| format!("the job was {}", job.status)),
            _ => format!("{completed} of {} languages done", tasks.len()),
        };
        Summary {
            status,
            progress,
            message,
            completed,
        }
    }
}

fn draft_view(draft: &Draft) -> JobStatusView {
    let languages = draft
        .languages
        .iter()
        .map(|code| {
            let language = Language::parse(code).ok();
            LanguageStatus {
                language_code: code.clone(),
                language_name: language.map_or_else(|| code.clone(), |l| l.name.to_owned()),
                flag: language.map(|l| l.flag.to_owned()).unwrap_or_default(),
                status: "pending",
                progress: 0,
                message: "waiting for the tracks".into(),
                estimated_time_remaining: None,
                file_size: None,
                download_url: None,
            }
        })
        .collect::<Vec<_>>();
    JobStatusView {
        id: draft.job_id.to_string(),
        status: "uploading",
        progress: 0,
        message: "waiting for the tracks to be uploaded".into(),
        total_languages: languages.len(),
        completed_languages: 0,
        started_at: draft.created_at,
        estimated_completion: None,
        languages,
    }
}

/// The caller's newest jobs, with links for every finished language.
pub async fn list(state: &AppState, caller: Caller) -> Result<Vec<JobListItem>, ApiError> {
    let page = jobs::list(&state.db, caller.tenant, None, None, LIST_LIMIT).await?;
    let ids: Vec<JobId> = page.iter().map(|j| j.id).collect();
    let all_tasks = jobs::tasks_of(&state.db, &ids).await?;
    let all_files = artifacts::for_jobs(&state.db, &ids).await?;
    let mut items = Vec::with_capacity(page.len());
    for job in &page {
        let tasks: Vec<Task> = all_tasks
            .iter()
            .filter(|t| t.job_id == job.id)
            .cloned()
            .collect();
        let mut download_urls = BTreeMap::new();
        for t in tasks.iter().filter(|t| t.status == TaskStatus::Completed) {
            let mut urls = DownloadUrls::default();
            for (slot, kinds) in [
                (&mut urls.full, FULL),
                (&mut urls.voice, VOICE),
                (&mut urls.captions, CAPTIONS),
            ] {
                if let Some(a) = pick(&all_files, job.id, &t.language, kinds) {
                    *slot = Some(
                        state
                            .storage
                            .download_url(&a.object_key, &a.file_name)
                            .await?,
                    );
                }
            }
            download_urls.insert(t.language.clone(), urls);
        }
        let summary = Summary::of(job, &tasks);
        items.push(JobListItem {
            id: job.id.to_string(),
            status: summary.status,
            progress: percent(summary.progress),
            message: summary.message,
            total_languages: tasks.len(),
            completed_languages: summary.completed,
            target_languages: job.target_languages.clone(),
            created_at: job.created_at,
            updated_at: job.updated_at,
            voice_track_duration: job.duration,
            background_track_uploaded: job.background_upload_id.is_some(),
            download_urls,
        });
    }
    Ok(items)
}

/// Cancels a running job; deletes an ended one (or a draft) with its files.
pub async fn delete(state: &AppState, caller: Caller, id: &str) -> Result<(), ApiError> {
    let id = job_id(id)?;
    match jobs::get(&state.db, caller.tenant, id).await {
        Ok(job) if !job.status.is_final() => {
            jobs::cancel(&state.db, Some(caller.tenant), id).await?;
            tracing::info!(job_id = %id, "job cancelled by the frontend");
        }
        Ok(_) => {
            // Objects first, rows last: a failure in between leaves rows to
            // delete again, never objects nobody knows of.
            let uploads = jobs::exclusive_upload_keys(&state.db, id).await?;
            state.storage.delete_prefix(&keys::job_prefix(id)).await?;
            for key in &uploads {
                state.storage.delete(key).await?;
            }
            jobs::delete_ended(&state.db, caller.tenant, id).await?;
            tracing::info!(job_id = %id, "job deleted with its files");
        }
        Err(DbError::NotFound) => {
            let draft = drafts::get(&state.db, caller.tenant, id)
                .await
                .map_err(not_found_job)?;
            forget_draft(state, &draft).await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Deletes a draft with what was uploaded for it, keeping any upload a
/// job has come to use.
async fn forget_draft(state: &AppState, draft: &Draft) -> Result<(), ApiError> {
    for upload in [Some(draft.voice_upload_id), draft.background_upload_id]
        .into_iter()
        .flatten()
    {
        state
            .storage
            .delete(&keys::incoming(draft.tenant_id, upload))
            .await?;
        if uploads::delete_unused(&state.db, draft.tenant_id, upload).await? {
            state
                .storage
                .delete(&keys::upload(draft.tenant_id, upload))
                .await?;
        }
    }
    drafts::delete(&state.db, draft.job_id).await?;
    Ok(())
}

/// The caller's files, newest first: expired ones stay listed, without a link.
pub async fn downloads(state: &AppState, caller: Caller) -> Result<Vec<DownloadItem>, ApiError> {
    let kinds: Vec<&str> = [FULL, VOICE, CAPTIONS].concat();
    let files =
        artifacts::recent_downloads(&state.db, caller.tenant, &kinds, DOWNLOADS_LIMIT).await?;
    let all: Vec<Artifact> = files.iter().map(|(a, _)| a.clone()).collect();
    // One file per language and type: the one the frontend would pick.
    let files = files.iter().filter(|(a, _)| {
        [FULL, VOICE, CAPTIONS].iter().any(|kinds| {
            kinds.contains(&a.kind.as_str())
                && pick(&all, a.job_id, &a.language, kinds).is_some_and(|p| p.id == a.id)
        })
    });
    let now = Utc::now();
    let mut items = Vec::with_capacity(all.len());
    for (a, job_title) in files {
        let is_expired = a.expires_at <= now;
        let download_url = if is_expired {
            None
        } else {
            Some(
                state
                    .storage
                    .download_url(&a.object_key, &a.file_name)
                    .await?,
            )
        };
        items.push(DownloadItem {
            id: a.id.to_string(),
            job_id: a.job_id.to_string(),
            job_title: job_title.clone(),
            language_code: a.language.clone(),
            language_name: Language::parse(&a.language)
                .map_or_else(|_| a.language.clone(), |l| l.name.to_owned()),
            file_name: a.file_name.clone(),
            file_type: if FULL.contains(&a.kind.as_str()) {
                "full"
            } else if VOICE.contains(&a.kind.as_str()) {
                "voice"
            } else {
                "captions"
            },
            file_size: a.size_bytes,
            downloaded_at: a.created_at,
            expires_at: a.expires_at,
            is_expired,
            download_url,
        });
    }
    Ok(items)
}
