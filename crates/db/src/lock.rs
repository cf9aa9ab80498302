//! The lock order. Every mutating transaction takes a job's rows in one
//! order: its stage runs, then its tasks, then the job row. The workers'
//! statements (`queries/runs/claim.sql`, `queries/runs/apply.sql`) take
//! them in that order by construction; a change made outside the workers
//! (cancel, retry, an edit) takes all three here, through [`job`], the one
//! function such transactions lock with. Taken in any other order, such a
//! change racing a claim or a commit would deadlock with it.

use deadpool_postgres::GenericClient;
use voxline_core::{Dispatch, JobId, Stage, StageRunId, StageRunStatus, TenantId};

use crate::DbError;
use crate::pool::rows;
use crate::rows::{Job, Task};

/// A run of a locked job.
#[derive(Debug, Clone)]
pub(crate) struct RunRow {
    pub id: StageRunId,
    pub language: String,
    pub stage: Stage,
    pub status: StageRunStatus,
}

/// A job with its runs and tasks, all locked for this transaction.
#[derive(Debug, Clone)]
pub(crate) struct Locked {
    pub job: Job,
    pub tasks: Vec<Task>,
    pub runs: Vec<RunRow>,
}

impl Locked {
    /// The delivery of one of the job's runs, due now.
    pub fn dispatch(&self, run: StageRunId, stage: Stage, attempt: i32) -> Dispatch {
        Dispatch {
            run_id: run,
            stage,
            attempt,
            tenant: self.job.tenant_id,
            priority: self.job.priority,
            not_before: chrono::Utc::now(),
            since: self.job.created_at,
            traceparent: self.job.traceparent.clone(),
        }
    }
}

/// Locks job `id` (of `tenant`, when given) in the lock order and answers
/// it; `None` when there is no such job (another tenant's job included).
pub(crate) async fn job(
    tx: &impl GenericClient,
    tenant: Option<TenantId>,
    id: JobId,
) -> Result<Option<Locked>, DbError> {
    // Whether it is the tenant's is asked before any lock is taken, so a
    // request for another tenant's job locks nothing of it.
    if let Some(tenant) = tenant
        && rows(tx, &query!("jobs/find"), &[&id, &tenant])
            .await?
            .is_empty()
    {
        return Ok(None);
    }
    let runs = rows(tx, &query!("jobs/lock_runs"), &[&id])
        .await?
        .iter()
        .map(|r| {
            Ok(RunRow {
                id: r.try_get("id")?,
                language: r.try_get("language")?,
                stage: r.try_get("stage")?,
                status: r.try_get("status")?,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    let tasks = rows(tx, &query!("jobs/lock_tasks"), &[&id])
        .await?
        .iter()
        .map(crate::rows::task)
        .collect::<Result<Vec<_>, _>>()?;
    let Some(job) = rows(tx, &query!("jobs/lock_job"), &[&id, &tenant])
        .await?
        .first()
        .map(crate::rows::job)
        .transpose()?
    else {
        return Ok(None);
    };
    Ok(Some(Locked { job, tasks, runs }))
}
