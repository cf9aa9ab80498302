//! The operator's view and actions across tenants: the overview the
//! dashboard polls, and retrying or cancelling any tenant's job.

use chrono::Utc;
use futures::future::join_all;
use voxline_core::{JobId, Stage};
use voxline_db::{jobs, ops};

use crate::auth::Caller;
use crate::error::{ApiError, Code};
use crate::requests::OverviewQuery;
use crate::service;
use crate::state::AppState;
use crate::views::JobView;
use crate::views::admin::{FailedTaskView, JobsOverview, OverviewView, QueueView, TenantUsageView};

/// Failed tasks and jobs in flight listed in the overview.
const LISTED: i64 = 50;

pub async fn overview(state: &AppState, q: OverviewQuery) -> Result<OverviewView, ApiError> {
    let hours = q.hours.unwrap_or(24);
    if !(1..=168).contains(&hours) {
        return Err(ApiError::new(
            Code::InvalidQuery,
            "hours must be 1 to 168 (a week)",
        ));
    }
    let since = Utc::now() - chrono::Duration::hours(i64::from(hours));
    let db = &state.db;
    let (stats, history, active, failed, tenants, redis) = tokio::try_join!(
        ops::queue_stats(db),
        ops::job_history(db, hours),
        ops::active_jobs(db, LISTED),
        ops::failed_tasks(db, LISTED),
        ops::tenant_usage(db, since),
        async { Ok::<_, voxline_db::DbError>(redis_side(state).await) },
    )?;
    let (redis, problems) = redis;
    let queues = stats
        .iter()
        .map(|stat| {
            let (pending, alive) = redis
                .iter()
                .find(|(stage, ..)| *stage == stat.stage)
                .map_or((None, None), |&(_, pending, alive)| (pending, alive));
            QueueView::new(stat, pending, alive)
        })
        .collect();
    Ok(OverviewView {
        generated_at: Utc::now(),
        hours,
        queues,
        jobs: JobsOverview::new(active.queued, active.running, &active.jobs, &history),
        failed_tasks: failed.iter().map(FailedTaskView::from).collect(),
        tenants: tenants.iter().map(TenantUsageView::from).collect(),
        problems,
    })
}

/// Per stage, the messages on its Redis queue and its workers alive. Redis
/// being down is reported, not fatal: the dashboard matters most then.
async fn redis_side(state: &AppState) -> (Vec<(Stage, Option<u64>, Option<u64>)>, Vec<String>) {
    let q = &state.queue;
    let db = &state.db;
    let answers = join_all(Stage::ALL.iter().map(|&stage| async move {
        let (stats, leased) = tokio::join!(q.stats(stage), voxline_db::workers::alive(db, stage));
        // Alive: a live lease in PostgreSQL, or a consumer heard from lately.
        let leased = leased.unwrap_or_default();
        let stats = stats.map_err(|e| e.to_string());
        let pending = stats.as_ref().map(|s| s.depth()).map_err(Clone::clone);
        let alive = stats.map(|s| s.workers_alive(&leased));
        (stage, pending, alive)
    }))
    .await;
    // The same fault usually hits every stage: one line per distinct error.
    let mut faults: Vec<(String, Vec<&str>)> = Vec::new();
    let mut rows = Vec::with_capacity(answers.len());
    for (stage, pending, alive) in answers {
        let mut read = |answer: Result<u64, String>| {
            answer
                .map_err(|e| match faults.iter_mut().find(|(seen, _)| *seen == e) {
                    Some((_, stages)) if !stages.contains(&stage.as_str()) => {
                        stages.push(stage.as_str())
                    }
                    Some(_) => {}
                    None => faults.push((e, vec![stage.as_str()])),
                })
                .ok()
        };
        let pending = read(pending);
        let alive = read(alive);
        rows.push((stage, pending, alive));
    }
    let problems: Vec<String> = faults
        .into_iter()
        .map(|(e, stages)| format!("queues and workers of {}: {e}", stages.join(", ")))
        .collect();
    if !problems.is_empty() {
        tracing::warn!(problems = ?problems, "operator overview read only part of Redis");
    }
    (rows, problems)
}

/// Retries any tenant's job from the stages that failed, as its owner would.
pub async fn retry(state: &AppState, id: JobId) -> Result<JobView, ApiError> {
    let owner = owner_of(state, id).await?;
    tracing::info!(job_id = %id, tenant_id = %owner.tenant, "operator retries a job");
    service::jobs::retry(state, owner, id).await
}

/// Cancels any tenant's job, as its owner would.
pub async fn cancel(state: &AppState, id: JobId) -> Result<JobView, ApiError> {
    let owner = owner_of(state, id).await?;
    tracing::info!(job_id = %id, tenant_id = %owner.tenant, "operator cancels a job");
    service::jobs::cancel(state, owner, id).await
}

async fn owner_of(state: &AppState, id: JobId) -> Result<Caller, ApiError> {
    let job = jobs::get_any(&state.db, id)
        .await
        .map_err(service::jobs::not_found_job)?;
    Ok(Caller {
        tenant: job.tenant_id,
    })
}
