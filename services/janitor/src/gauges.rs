//! The queue gauges of `/metrics`: each stage's depth, oldest waiting run,
//! backoff, running stages, Redis messages and live workers. The janitor
//! sets them every pass, so one process (not every worker) reports them.

use voxline_db::ops;
use voxline_telemetry::metrics;
use voxline_worker::{Connections, WorkerError};

/// Reads every stage's queue and sets its gauges. A worker counts as alive
/// while its lease in PostgreSQL is live or its consumer signs of life in
/// Redis. When Redis does not answer, its gauges keep their last value and
/// PostgreSQL's still move.
pub async fn update_once(c: &Connections) -> Result<(), WorkerError> {
    let mut redis_error = None;
    for stat in ops::queue_stats(&c.db).await? {
        let stage = stat.stage.as_str();
        metrics::queue(
            stage,
            stat.queued_due,
            stat.oldest_due_seconds,
            stat.scheduled,
            stat.running,
        );
        let leased = voxline_db::workers::alive(&c.db, stat.stage).await?;
        match c.queue.stats(stat.stage).await {
            Ok(q) => metrics::queue_redis(stage, q.depth(), q.workers_alive(&leased)),
            Err(e) => redis_error = Some(e),
        }
    }
    redis_error.map_or(Ok(()), |e| Err(e.into()))
}
