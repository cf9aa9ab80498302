use voxline_db::{outbox, runs};
use voxline_queue::{Connections, QueueError};

/// What one reconciliation pass repaired.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Repairs {
    /// Runs whose worker stopped renewing its lease, queued again (or failed).
    pub expired_leases: usize,
    /// Outbox rows a crash left between commit and dispatch, sent.
    pub stale_outbox: usize,
    /// Due runs Redis had lost, dispatched again.
    pub redispatched: usize,
    /// Scheduled publishes whose time came, dispatched.
    pub released: usize,
}

impl Repairs {
    pub fn total(&self) -> usize {
        self.expired_leases + self.stale_outbox + self.redispatched + self.released
    }
}

/// One pass: expire dead leases (a run fails once `max_lost_leases` workers
/// died under it), flush stale outbox rows, re-dispatch due runs nobody
/// has picked up within `redispatch_after_s`, and release held runs (a
/// scheduled publish) whose time has come. A duplicate dispatch is
/// harmless: the claim in PostgreSQL lets only one through.
pub async fn reconcile_once(
    c: &Connections,
    redispatch_after_s: f64,
    max_lost_leases: u32,
) -> Result<Repairs, QueueError> {
    let expired = runs::expire_leases(&c.db, max_lost_leases, 500).await?;
    for d in &expired.requeued {
        voxline_telemetry::metrics::leases_taken_over(d.stage.as_str(), 1);
    }
    for stage in &expired.failed {
        voxline_telemetry::metrics::stage_failure(stage.as_str(), "worker_lost");
    }
    c.dispatcher.send(&expired.requeued).await?;
    let stale = outbox::stale(&c.db, 10.0, 500).await?;
    c.dispatcher.send(&stale).await?;
    let overdue = outbox::overdue(&c.db, redispatch_after_s, 500).await?;
    c.dispatcher.send(&overdue).await?;
    let released = runs::held_due(&c.db, 500).await?;
    c.dispatcher.send(&released).await?;
    Ok(Repairs {
        expired_leases: expired.requeued.len() + expired.failed.len(),
        stale_outbox: stale.len(),
        redispatched: overdue.len(),
        released: released.len(),
    })
}
