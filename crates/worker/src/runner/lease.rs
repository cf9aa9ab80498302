//! The worker process's lease: one row in `workers`, renewed once per
//! interval for every run the process holds (not once per run). Each
//! renewal also learns which held runs are no longer the process's
//! (cancelled, or taken over by the janitor) and stops them; a lease that
//! ran out altogether stops everything and is announced afresh.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use voxline_core::{Stage, StageRunId};
use voxline_db::workers::{self, Renewal};
use voxline_db::{Db, runs::Lease};

/// The process's lease and the runs it covers.
pub(crate) struct Leases {
    db: Db,
    worker: String,
    stage: Stage,
    lease: Duration,
    held: Mutex<HashMap<StageRunId, (i32, CancellationToken)>>,
    registered: watch::Sender<bool>,
}

/// A held run: dropping it ends the holding.
pub(crate) struct Holding {
    leases: Arc<Leases>,
    run: StageRunId,
    /// Cancelled when the run is lost.
    pub lost: CancellationToken,
}

impl Drop for Holding {
    fn drop(&mut self) {
        self.leases.held.lock().expect("held").remove(&self.run);
    }
}

impl Leases {
    pub fn new(db: Db, worker: &str, stage: Stage, lease: Duration) -> Arc<Self> {
        Arc::new(Self {
            db,
            worker: worker.to_owned(),
            stage,
            lease,
            held: Mutex::new(HashMap::new()),
            registered: watch::channel(false).0,
        })
    }

    /// Waits until the worker is announced (claims must not come before:
    /// the janitor takes over runs of workers it does not know).
    pub async fn registered(&self) {
        let mut seen = self.registered.subscribe();
        let _ = seen.wait_for(|r| *r).await;
    }

    /// Notes `lease` as held until the returned value is dropped.
    pub fn hold(self: &Arc<Self>, lease: &Lease) -> Holding {
        let lost = CancellationToken::new();
        self.held
            .lock()
            .expect("held")
            .insert(lease.run_id, (lease.token, lost.clone()));
        Holding {
            leases: self.clone(),
            run: lease.run_id,
            lost,
        }
    }

    /// How often the lease is renewed: often enough that a cancellation is
    /// noticed within about a second.
    fn every(&self) -> Duration {
        (self.lease / 3).min(Duration::from_secs(1))
    }

    /// Announces the worker, then renews its lease until `stop`; leaves
    /// (deletes the row) after `stop` once nothing is held.
    pub async fn keep(self: Arc<Self>, stop: CancellationToken) {
        while !*self.registered.borrow() {
            match workers::register(&self.db, &self.worker, Some(self.stage), self.lease).await {
                Ok(()) => {
                    self.registered.send_replace(true);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "worker not announced yet; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(self.every()) => {}
                        _ = stop.cancelled() => return,
                    }
                }
            }
        }
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.every()) => {}
                _ = stop.cancelled() => {
                    if self.held.lock().expect("held").is_empty() {
                        if let Err(e) = workers::leave(&self.db, &self.worker).await {
                            tracing::warn!(error = %e, "worker row not removed");
                        }
                        return;
                    }
                    tokio::time::sleep(self.every()).await;
                }
            }
            self.renew().await;
        }
    }

    async fn renew(&self) {
        let held: Vec<(StageRunId, i32)> = self
            .held
            .lock()
            .expect("held")
            .iter()
            .map(|(run, (token, _))| (*run, *token))
            .collect();
        match workers::renew(&self.db, &self.worker, self.lease, &held).await {
            Ok(Renewal::Renewed { lost }) => self.lose(&lost),
            Ok(Renewal::Expired) => {
                tracing::warn!("the worker's lease ran out; its runs were taken over");
                let all: Vec<StageRunId> = held.iter().map(|(r, _)| *r).collect();
                self.lose(&all);
                if let Err(e) =
                    workers::register(&self.db, &self.worker, Some(self.stage), self.lease).await
                {
                    tracing::warn!(error = %e, "worker not announced again yet");
                }
            }
            // The database may come back before the lease runs out; keep trying.
            Err(e) => tracing::warn!(error = %e, "lease not renewed"),
        }
    }

    fn lose(&self, runs: &[StageRunId]) {
        let held = self.held.lock().expect("held");
        for run in runs {
            if let Some((_, lost)) = held.get(run) {
                tracing::info!(run_id = %run, "lease lost; stopping the stage");
                lost.cancel();
            }
        }
    }
}
