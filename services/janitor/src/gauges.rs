//! The queue gauges of `/metrics`: each stage's depth, oldest waiting run,
//! backoff, running stages, Redis messages and live workers. The janitor
//! sets them every pass, so one process (not every worker) reports them.

use voxline_db::ops;
use voxline_queue::{Connections, QueueError};
use voxline_telemetry::metrics;

/// Reads every stage's queue and sets its gauges. Workers count as alive
/// as apalis counts them (the dashboard's figure too). When Redis does not
/// answer, its gauges keep their last value and PostgreSQL's still move.
pub async fn update_once(c: &Connections) -> Result<(), QueueError> {
    let alive_within = c.dispatcher.dead_worker_after();
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
        let redis = async {
            let pending = c.dispatcher.depth(stat.stage).await?;
            let alive = c.dispatcher.workers_alive(stat.stage, alive_within).await?;
            Ok::<_, QueueError>((pending, alive))
        };
        match redis.await {
            Ok((pending, alive)) => metrics::queue_redis(stage, pending, alive),
            Err(e) => redis_error = Some(e),
        }
    }
    redis_error.map_or(Ok(()), Err)
}
