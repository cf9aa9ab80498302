//! A task's segment edits (`tasks.segment_edits`) and the re-run they
//! start: the stage after translation runs again over the edited lines, and
//! every stage after it is run anew.

use voxline_core::edits::Edits;
use voxline_core::{JobId, JobStatus, Stage, StageRunId, TaskStatus, TenantId};

use crate::outbox::{self, Dispatch};
use crate::{Db, DbError, events, jobs};

/// The edits of (job, language), empty when there are none.
pub async fn for_task(db: &Db, job: JobId, language: &str) -> Result<Edits, DbError> {
    let row = db
        .client()
        .await?
        .query_opt(
            "SELECT segment_edits FROM tasks WHERE job_id = $1 AND language = $2",
            &[&job.0, &language],
        )
        .await?;
    Ok(match row {
        Some(r) => serde_json::from_value(r.get(0))
            .map_err(|e| DbError::Corrupt(format!("tasks.segment_edits: {e}")))?,
        None => Edits::new(),
    })
}

/// Records `edits` (every edit of the task, merged by the caller) for a
/// tenant's completed task and starts its re-run from the first stage after
/// translation. `NotFound` for another tenant's job or an unknown language;
/// `Conflict` while the task runs, when it did not complete, or when the
/// job was cancelled.
pub async fn apply(
    db: &Db,
    tenant: TenantId,
    job: JobId,
    language: &str,
    edits: &Edits,
) -> Result<Dispatch, DbError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    let status = jobs::lock_job(&tx, tenant, job).await?;
    if status == JobStatus::Cancelled {
        return Err(DbError::Conflict(
            "the job was cancelled; create a new job to dub it again".into(),
        ));
    }
    let task = jobs::tasks(&tx, job)
        .await?
        .into_iter()
        .find(|t| t.language == language)
        .ok_or(DbError::NotFound)?;
    match task.status {
        TaskStatus::Completed => {}
        TaskStatus::Failed => {
            return Err(DbError::Conflict(format!(
                "the {language} task failed; retry the job (POST /v1/jobs/{job}/retry), then edit its lines once it has completed"
            )));
        }
        other => {
            return Err(DbError::Conflict(format!(
                "the {language} task is {}; edit its lines once it has completed",
                other.as_str()
            )));
        }
    }
    let Some(first) = task
        .stages
        .iter()
        .position(|s| *s == Stage::Translate)
        .and_then(|i| task.stages.get(i + 1))
        .copied()
    else {
        return Err(DbError::Conflict(
            "this job has no stage that uses edited lines".into(),
        ));
    };
    let later: Vec<&str> = task
        .stages
        .iter()
        .skip_while(|s| **s != first)
        .skip(1)
        .map(|s| s.as_str())
        .collect();
    tx.execute(
        "UPDATE tasks SET segment_edits = $3::jsonb WHERE job_id = $1 AND language = $2",
        &[&job.0, &language, &serde_json::json!(edits)],
    )
    .await?;
    // Later stages run anew from the re-run's result; their old runs go
    // (their usage stays, detached).
    tx.execute(
        "DELETE FROM stage_runs WHERE job_id = $1 AND language = $2 AND stage = ANY($3)",
        &[&job.0, &language, &later],
    )
    .await?;
    let row = tx
        .query_opt(
            "UPDATE stage_runs SET status = 'queued', failures = 0, lost_leases = 0, error_code = NULL,
                    error_message = NULL, run_after = now(), finished_at = NULL
             WHERE job_id = $1 AND language = $2 AND stage = $3
             RETURNING id, attempt",
            &[&job.0, &language, &first.as_str()],
        )
        .await?
        .ok_or_else(|| {
            DbError::Conflict(format!(
                "the {language} task never reached its {first} stage; retry the job first"
            ))
        })?;
    // Its earlier commit guarded that attempt; the next claim's attempt
    // (a higher fencing token) commits the re-run.
    tx.execute(
        "DELETE FROM stage_commits WHERE stage_run_id = $1",
        &[&row.get::<_, uuid::Uuid>(0)],
    )
    .await?;
    let dispatch = outbox::push(
        &tx,
        StageRunId(row.get(0)),
        first,
        row.get(1),
        chrono::Utc::now(),
    )
    .await?;
    let position = task.stages.iter().position(|s| *s == first).unwrap_or(0);
    tx.execute(
        "UPDATE tasks SET status = 'running', stage = $3, progress = $4, message = $5,
                error_code = NULL, error_message = NULL, finished_at = NULL, updated_at = now()
         WHERE job_id = $1 AND language = $2",
        &[
            &job.0,
            &language,
            &first.as_str(),
            &(position as f64 / task.stages.len() as f64),
            &format!("applying {} edited lines", edits.len()),
        ],
    )
    .await?;
    events::record(
        &tx,
        job,
        "segments_edited",
        Some(language),
        Some(first.as_str()),
        serde_json::json!({ "segments": edits.keys().collect::<Vec<_>>() }),
    )
    .await?;
    jobs::refresh_status(&tx, job).await?;
    tx.commit().await?;
    Ok(dispatch)
}
