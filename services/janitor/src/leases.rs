//! Runs of worker processes whose lease ran out (killed, partitioned,
//! stalled): queued again for another worker, or failed with `worker_lost`
//! once too many workers died under them (the input itself may be what
//! kills them). Worker losses are counted apart from the stage's own
//! failures, so a fleet being restarted does not spend a stage's retries.

use std::time::Duration;

use voxline_core::state::on_failure;
use voxline_db::runs::{Failure, Outcomes};
use voxline_db::workers::{self, Orphans};
use voxline_telemetry::metrics;
use voxline_worker::{Connections, WorkerError};

/// What taking over dead workers' runs did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TakenOver {
    /// Runs queued again for another worker.
    pub requeued: usize,
    /// Runs that lost `max_lost` workers and failed.
    pub failed: usize,
}

/// One pass: up to 500 runs of dead workers (`whose`), queued again or
/// failed.
pub async fn take_over_once(
    c: &Connections,
    max_lost: u32,
    whose: Orphans,
) -> Result<TakenOver, WorkerError> {
    let orphans = workers::orphaned(&c.db, 500, whose).await?;
    if orphans.is_empty() {
        return Ok(TakenOver::default());
    }
    let mut outcomes = Outcomes::new(0.0);
    for run in &orphans {
        let lost = run.lost_leases + 1;
        let failure = Failure {
            code: "worker_lost".into(),
            message: format!(
                "the worker `{}` stopped renewing its lease ({lost} worker losses)",
                run.lease.owner
            ),
            transient: true,
        };
        let plan = on_failure(
            &run.snapshot(),
            &failure.code,
            &failure.message,
            true,
            lost,
            max_lost as i32,
        );
        outcomes.failed(run, &failure, &plan, Duration::ZERO, &[], true);
    }
    let applied = voxline_db::apply(&c.db, outcomes).await?;
    let mut taken = TakenOver::default();
    let mut dispatch = Vec::new();
    for (run, applied) in orphans.iter().zip(applied) {
        if !applied.held {
            continue; // the worker came back, or another janitor was first
        }
        let stage = run.stage.as_str();
        if applied.dispatch.is_empty() {
            taken.failed += 1;
            metrics::stage_failure(stage, "worker_lost");
        } else {
            taken.requeued += 1;
            metrics::leases_taken_over(stage, 1);
        }
        dispatch.extend(applied.dispatch);
    }
    // The runs are queued in PostgreSQL now; if Redis is away, the sweep sends them later.
    if let Err(e) = c.queue.push(&dispatch).await {
        tracing::warn!(error = %e, "runs taken over not sent yet; the sweep will");
    }
    workers::forget_dead(&c.db, Duration::from_secs(300)).await?;
    Ok(taken)
}
