//! One reconciliation pass: the two repairs that keep the promise that
//! nothing is lost.

use voxline_worker::{Connections, WorkerError};

use crate::leases::take_over_once;
use crate::resend::Sweep;

/// What one reconciliation pass repaired.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Repairs {
    /// Runs of dead workers queued again or failed.
    pub expired_leases: usize,
    /// Queued runs sent to the queue again.
    pub redispatched: usize,
}

impl Repairs {
    pub fn total(&self) -> usize {
        self.expired_leases + self.redispatched
    }
}

/// The janitor's repairs, remembering the sweep's place between passes.
#[derive(Debug, Default)]
pub struct Reconciler {
    sweep: Sweep,
}

impl Reconciler {
    /// Takes over the runs of dead workers (a run fails once `max_lost`
    /// workers died under it), then sends queued runs due for more than
    /// `redispatch_after_s` seconds. A duplicate delivery is harmless: the
    /// claim in PostgreSQL lets only one through.
    pub async fn once(
        &mut self,
        c: &Connections,
        redispatch_after_s: f64,
        max_lost: u32,
    ) -> Result<Repairs, WorkerError> {
        let taken = take_over_once(c, max_lost).await?;
        let redispatched = self.sweep.once(c, redispatch_after_s).await?;
        Ok(Repairs {
            expired_leases: taken.requeued + taken.failed,
            redispatched,
        })
    }
}

/// One pass with a fresh sweep (tests and one-off repairs).
pub async fn reconcile_once(
    c: &Connections,
    redispatch_after_s: f64,
    max_lost: u32,
) -> Result<Repairs, WorkerError> {
    Reconciler::default()
        .once(c, redispatch_after_s, max_lost)
        .await
}
