//! A task's segment edits (`tasks.segment_edits`) and the re-run they
//! start: the stage after translation runs again over the edited lines, and
//! every stage after it is run anew.

use voxline_core::edits::Edits;
use voxline_core::state::{EventKind, JobDelta, RunEvent, TaskEvent};
use voxline_core::{Dispatch, JobId, JobStatus, Stage, TaskStatus, TenantId};

use crate::error::EditError;
use crate::pool::{execute, row};
use crate::{Db, DbError, events, jobs, lock};

/// The edits of (job, language), empty when there are none.
pub async fn for_task(db: &Db, job: JobId, language: &str) -> Result<Edits, DbError> {
    Ok(
        match db
            .row(&query!("edits/for_task"), &[&job, &language])
            .await?
        {
            Some(r) => serde_json::from_value(r.try_get("segment_edits")?)
                .map_err(|e| DbError::Corrupt(format!("tasks.segment_edits: {e}")))?,
            None => Edits::new(),
        },
    )
}

/// Records `edits` (every edit of the task, merged by the caller) for a
/// tenant's completed task and starts its re-run from the first stage after
/// translation.
pub async fn apply(
    db: &Db,
    tenant: TenantId,
    job: JobId,
    language: &str,
    edits: &Edits,
) -> Result<Dispatch, EditError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(DbError::from)?;
    let locked = lock::job(&tx, Some(tenant), job)
        .await?
        .ok_or(EditError::NotFound)?;
    if locked.job.status == JobStatus::Cancelled {
        return Err(EditError::JobCancelled);
    }
    let task = locked
        .tasks
        .iter()
        .find(|t| t.language == language)
        .ok_or(EditError::NotFound)?;
    match task.status {
        TaskStatus::Completed => {}
        TaskStatus::Failed => {
            return Err(EditError::TaskFailed {
                language: language.to_owned(),
            });
        }
        status => {
            return Err(EditError::TaskNotCompleted {
                language: language.to_owned(),
                status,
            });
        }
    }
    let Some(first) = task
        .stages
        .iter()
        .position(|s| *s == Stage::Translate)
        .and_then(|i| task.stages.get(i + 1))
        .copied()
    else {
        return Err(EditError::NothingUsesEdits);
    };
    let later: Vec<Stage> = task
        .stages
        .iter()
        .skip_while(|s| **s != first)
        .skip(1)
        .copied()
        .collect();
    let run = locked
        .runs
        .iter()
        .find(|r| r.language == language && r.stage == first)
        .ok_or_else(|| EditError::StageNeverReached {
            language: language.to_owned(),
            stage: first,
        })?;
    execute(
        &tx,
        &query!("edits/save"),
        &[&job, &language, &serde_json::json!(edits)],
    )
    .await?;
    execute(
        &tx,
        &query!("edits/forget_later_runs"),
        &[&job, &language, &later],
    )
    .await?;
    let rerun = row(
        &tx,
        &query!("edits/rerun"),
        &[&run.id, &RunEvent::Rerun.from(), &RunEvent::Rerun.to()],
    )
    .await?
    .ok_or_else(|| EditError::StageNeverReached {
        language: language.to_owned(),
        stage: first,
    })?;
    let position = task.stages.iter().position(|s| *s == first).unwrap_or(0);
    let progress = position as f64 / task.stages.len() as f64;
    jobs::move_tasks(
        &tx,
        job,
        &[task.id],
        TaskEvent::Reopen,
        &format!("applying {} edited lines", edits.len()),
        Some((first, progress)),
    )
    .await?;
    let delta = JobDelta::of(task.status, TaskEvent::Reopen.to());
    jobs::move_counts(&tx, job, delta).await?;
    events::record(
        &tx,
        job,
        EventKind::SegmentsEdited,
        Some(language),
        Some(first.as_str()),
        serde_json::json!({ "segments": edits.keys().collect::<Vec<_>>() }),
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    let attempt: i32 = rerun.try_get("attempt").map_err(DbError::from)?;
    Ok(locked.dispatch(run.id, first, attempt))
}
