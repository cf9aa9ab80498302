//! Queued runs the queue may not hold: Redis lost them (a restart without
//! persistence, a `FLUSHALL`, a failover), or a crash came between a
//! commit and its send. The queued run is its own dispatch record, so the
//! sweep sends every queued run due for a while; the queue keeps one of
//! each, so sending one it holds changes nothing. A page of the oldest
//! goes each pass, on from where the last pass stopped; when Redis has
//! lost its data, every page goes at once.

use voxline_db::runs::{self, SweepCursor};
use voxline_worker::{Connections, WorkerError};

/// Runs sent per page.
const PAGE: i64 = 1000;

/// The sweep's place between passes.
#[derive(Debug, Default)]
pub struct Sweep {
    cursor: SweepCursor,
    epoch: Option<String>,
}

impl Sweep {
    /// One pass over runs due for more than `after_s` seconds: answers how
    /// many were sent.
    pub async fn once(&mut self, c: &Connections, after_s: f64) -> Result<usize, WorkerError> {
        let epoch = c.queue.epoch().await?;
        let lost = self.epoch.as_ref().is_some_and(|e| *e != epoch);
        if lost {
            tracing::warn!("Redis lost its data; sending every queued run again");
            self.cursor = None;
        }
        self.epoch = Some(epoch);
        let mut sent = 0;
        loop {
            let (page, next) = runs::unqueued(&c.db, after_s, self.cursor, PAGE).await?;
            c.queue.push(&page).await?;
            sent += page.len();
            self.cursor = next;
            if !lost || self.cursor.is_none() {
                return Ok(sent);
            }
        }
    }
}
