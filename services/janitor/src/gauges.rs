//! The queue gauges of `/metrics`: each stage's depth, oldest waiting run,
//! backoff, running stages, Redis messages and live workers. The janitor
//! sets them every pass, so one process (not every worker) reports them.

use voxline_db::ops;
use voxline_queue::{Connections, QueueError};
use voxline_telemetry::metrics::{self, QueueGauges};

/// Reads every stage's queue and sets its gauges. Workers count as alive
/// as apalis counts them (the dashboard's figure too).
pub async fn update_once(c: &Connections) -> Result<(), QueueError> {
    let alive_within = c.dispatcher.dead_worker_after();
    for stat in ops::queue_stats(&c.db).await? {
        let gauges = QueueGauges {
            depth: stat.queued_due,
            pending_messages: c.dispatcher.depth(stat.stage).await?,
            oldest_seconds: stat.oldest_due_seconds,
            scheduled: stat.scheduled,
            running: stat.running,
            workers_alive: c.dispatcher.workers_alive(stat.stage, alive_within).await?,
        };
        metrics::queue(stat.stage.as_str(), &gauges);
    }
    Ok(())
}
