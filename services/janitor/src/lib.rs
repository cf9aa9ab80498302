//! The janitor: repairs what crashes and Redis losses leave behind, and
//! deletes expired artifacts. Every pass is safe to run from several
//! replicas at once (claims are guarded in PostgreSQL; deletes are idempotent).

mod clones;
mod gauges;
mod leases;
mod reconcile;
mod resend;
mod retention;

use std::time::Duration;

use voxline_config::Settings;
use voxline_worker::{CancellationToken, Connections, shutdown_on_signals};

pub use clones::{Cloners, delete_clones_once};
pub use leases::{TakenOver, take_over_once};
pub use reconcile::{Reconciler, Repairs, reconcile_once};
pub use resend::Sweep;
pub use retention::{clean_cancelled_once, clean_drafts_once, sweep_once};

/// Runs reconciliation and retention passes until `shutdown`.
pub async fn run_until(
    settings: Settings,
    connections: Connections,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let every = Duration::from_secs(settings.runner.reconcile_interval_seconds.max(1));
    let redispatch_after = settings.runner.redispatch_after_seconds as f64;
    let mut passes: u64 = 0;
    let mut reconciler = Reconciler::default();
    tracing::info!(interval_s = every.as_secs(), "janitor started");
    let cloners = cloners(&settings).await;
    if let Ok(false) = voxline_db::ops::autovacuum(&connections.db).await {
        tracing::warn!(
            "autovacuum is off on this PostgreSQL: the workers' statements keep the plans they \
             made while the tables were small, which scan them whole as they grow; turn it on, \
             or ANALYZE stage_runs, tasks, jobs and job_events regularly (docs/operations.md)"
        );
    }
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(every) => {}
        }
        match reconciler
            .once(
                &connections,
                redispatch_after,
                settings.runner.max_lost_leases,
            )
            .await
        {
            Ok(r) if r.total() > 0 => tracing::info!(?r, "reconciled"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reconcile pass failed"),
        }
        if let Err(e) = gauges::update_once(&connections).await {
            tracing::warn!(error = %e, "queue gauges not updated");
        }
        let grace = settings.runner.lease_seconds as f64;
        if let Err(e) = clean_cancelled_once(&connections, grace).await {
            tracing::warn!(error = %e, "cleanup of cancelled jobs failed");
        }
        // Retention needs no urgency: one pass a minute at this interval's scale.
        passes += 1;
        if passes % 12 == 1 {
            if let Err(e) = sweep_once(&connections).await {
                tracing::warn!(error = %e, "retention pass failed");
            }
            let hours = settings.storage.artifact_ttl_hours as f64;
            if let Err(e) = clean_drafts_once(&connections, hours).await {
                tracing::warn!(error = %e, "cleanup of abandoned drafts failed");
            }
            if let Err(e) = delete_clones_once(&connections, &cloners).await {
                tracing::warn!(error = %e, "deleting cloned voices failed");
            }
        }
    }
}

/// The configured vendors that clone voices (none, with a warning, if they
/// cannot be built: the other passes go on).
pub async fn cloners(settings: &Settings) -> Cloners {
    let gate = match voxline_worker::vendor_gate(settings).await {
        Ok(gate) => gate,
        Err(e) => {
            tracing::warn!(error = %e, "no vendor gate: cloned voices are not deleted");
            return Cloners::new();
        }
    };
    voxline_providers::voice_cloners(&settings.vendors, gate).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "vendors not built: cloned voices are not deleted");
        Cloners::new()
    })
}

/// Runs the janitor until SIGTERM.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let shutdown = shutdown_on_signals();
    let connections = Connections::open(&settings).await?;
    let _ops = connections.serve_ops(&settings)?;
    run_until(settings, connections, shutdown).await
}
