//! One reconciliation pass: the two repairs that keep the promise that
//! nothing is lost.

use std::time::{Duration, Instant};

use voxline_db::workers::Orphans;
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

/// How often a pass also looks for runs whose holder has no worker row at
/// all (a scan of every open run); the other passes look for them only
/// while some worker's lease has run out.
const LOOK_FOR_UNANNOUNCED_EVERY: Duration = Duration::from_secs(60);

/// The janitor's repairs, remembering the sweep's place between passes.
#[derive(Debug, Default)]
pub struct Reconciler {
    sweep: Sweep,
    /// When a pass last looked for runs of workers with no row.
    looked_for_unannounced: Option<Instant>,
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
        let whose = match self.looked_for_unannounced {
            Some(at) if at.elapsed() < LOOK_FOR_UNANNOUNCED_EVERY => Orphans::OfDeadWorkers,
            _ => Orphans::All,
        };
        let taken = take_over_once(c, max_lost, whose).await?;
        if whose == Orphans::All {
            self.looked_for_unannounced = Some(Instant::now());
        }
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
