//! A task's dubbed lines: reading them with the user's edits, and editing
//! them, which re-runs only what the edit changes (lines whose text is the
//! same keep their audio; the render and publish stages run again).

use voxline_core::edits::{self, Edits};
use voxline_core::{JobId, JobKind, Stage, Transcript, Translation, sentences};
use voxline_db::jobs::Job;
use voxline_storage::{StorageError, keys};

use crate::auth::Caller;
use crate::error::{ApiError, Code};
use crate::service::jobs::{not_found_job, view};
use crate::state::AppState;
use crate::views::{JobView, SegmentView, SegmentsView};

/// The lines of a tenant's (job, language) as they are now.
pub async fn list(
    state: &AppState,
    caller: Caller,
    id: JobId,
    language: &str,
) -> Result<SegmentsView, ApiError> {
    let (job, translation, edits) = load(state, caller, id, language).await?;
    // The transcript is the job's, under the source language it was asked
    // for (`auto` included).
    let transcript = state
        .storage
        .get_bytes(&keys::artifact(
            id,
            &job.source_language,
            Stage::Transcribe,
            "transcript.json",
        ))
        .await
        .ok()
        .and_then(|b| serde_json::from_slice::<Transcript>(&b).ok())
        .map(|t| {
            // The lines as the translator joined them (a sentence cut across
            // lines is one line, under its first id); a translation made
            // before lines were joined keeps the transcript's own.
            let joined = sentences::whole_sentences(&t.segments);
            let matches = translation
                .segments
                .iter()
                .all(|s| joined.iter().any(|j| j.id == s.id));
            if matches { joined } else { t.segments }
        });
    let source_text = |seg: u32| {
        transcript
            .as_ref()
            .and_then(|t| t.iter().find(|s| s.id == seg))
            .map(|s| s.text.clone())
    };
    Ok(SegmentsView {
        job_id: job.id.to_string(),
        language: language.to_owned(),
        source_language: translation.source_language.clone(),
        engine: translation.engine.clone(),
        segments: edits::apply(&translation.segments, &edits)
            .into_iter()
            .map(|s| SegmentView {
                source_text: source_text(s.id),
                edited: edits.contains_key(&s.id),
                id: s.id,
                start: s.start,
                end: s.end,
                text: s.text,
                speaker: s.speaker,
            })
            .collect(),
    })
}

/// Applies `changes` to a finished task's lines and re-runs it from the
/// stage after translation; answers the job. Changes that change nothing
/// start nothing.
pub async fn edit(
    state: &AppState,
    caller: Caller,
    id: JobId,
    language: &str,
    changes: Edits,
) -> Result<(JobView, bool), ApiError> {
    let (job, translation, earlier) = load(state, caller, id, language).await?;
    let now = edits::apply(&translation.segments, &earlier);
    edits::check(&now, &changes, job.duration)
        .map_err(|m| ApiError::new(Code::InvalidSegments, m))?;
    if edits::apply(&now, &changes) == now {
        return Ok((view(state, caller, id).await?, false));
    }
    let all = edits::merge(&earlier, &changes);
    let dispatch = voxline_db::edits::apply(&state.db, caller.tenant, id, language, &all).await?;
    if let Err(e) = state.queue.push(&[dispatch]).await {
        tracing::warn!(error = %e, job_id = %id, "dispatch deferred to the janitor's sweep");
    }
    tracing::info!(job_id = %id, language, lines = changes.len(), "segments edited");
    Ok((view(state, caller, id).await?, true))
}

/// The job (checked to be the caller's), its translation into `language`
/// and the edits recorded so far.
async fn load(
    state: &AppState,
    caller: Caller,
    id: JobId,
    language: &str,
) -> Result<(Job, Translation, Edits), ApiError> {
    let job = voxline_db::jobs::get(&state.db, caller.tenant, id)
        .await
        .map_err(not_found_job)?;
    if job.kind == JobKind::Transcribe {
        return Err(ApiError::new(
            Code::NoDubbedLines,
            "a transcribe job has no translated lines to edit; its transcript is among its files",
        ));
    }
    if !job.target_languages.iter().any(|l| l == language) {
        return Err(ApiError::not_found("task"));
    }
    let bytes = state
        .storage
        .get_bytes(&keys::artifact(id, language, Stage::Translate, "translation.json"))
        .await
        .map_err(|e| match e {
            StorageError::NotFound(_) => ApiError::new(Code::NoSegmentsYet,
                format!("the {language} lines are not translated yet; try again when the task has passed its translate stage"),
            ),
            e => e.into(),
        })?;
    let translation: Translation = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::internal("reading translation.json", e))?;
    let recorded = voxline_db::edits::for_task(&state.db, id, language).await?;
    Ok((job, translation, recorded))
}
