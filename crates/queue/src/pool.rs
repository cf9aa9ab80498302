use std::sync::Arc;

use apalis::prelude::{BoxDynError, Data, WorkerBuilder, WorkerContext};
use apalis_redis::RedisStorage;
use futures::FutureExt;
use tokio_util::sync::CancellationToken;

use crate::dispatch::queue_config;
use crate::{QueueError, Runner, StageJob, run_of};

/// Runs `concurrency` apalis workers on the runner's stage queue until
/// `shutdown` is cancelled. Returns an error if any worker stops on its own
/// (a lost Redis connection, for instance): the process should then exit
/// non-zero so its supervisor restarts it, rather than idle silently.
pub async fn run_worker_pool(
    runner: Arc<Runner>,
    service: &str,
    concurrency: usize,
    shutdown: CancellationToken,
) -> Result<(), QueueError> {
    let stage = runner.stage();
    let config = queue_config(runner.dispatcher().namespace(), stage);
    let identity = format!(
        "{service}-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let mut workers = Vec::new();
    for i in 0..concurrency.max(1) {
        let storage = RedisStorage::<StageJob>::new(runner.dispatcher().connection())
            .with_config(config.clone());
        // Names must be unique per process: apalis recovers a dead worker's
        // messages by name.
        let worker = WorkerBuilder::new(format!("{identity}-{i}"))
            .backend(storage)
            .data(runner.clone())
            .build(handle);
        let stop = shutdown
            .clone()
            .cancelled_owned()
            .map(Ok::<(), std::io::Error>);
        workers.push(tokio::spawn(worker.run_until(stop)));
    }
    tracing::info!(stage = %stage, workers = workers.len(), "worker pool started");
    let mut failure = None;
    for w in workers {
        match w.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failure = Some(e.to_string()),
            Err(e) => failure = Some(e.to_string()),
        }
    }
    match failure {
        Some(message) if !shutdown.is_cancelled() => Err(QueueError::Push {
            queue: config.queue.to_string(),
            message: format!("worker stopped: {message}"),
        }),
        _ => Ok(()),
    }
}

async fn handle(
    message: StageJob,
    runner: Data<Arc<Runner>>,
    worker: WorkerContext,
) -> Result<(), BoxDynError> {
    match run_of(&message) {
        Some(run) => {
            runner.process(run, worker.name()).await?;
        }
        // Retrying a malformed message cannot help; PostgreSQL still holds the run.
        None => tracing::warn!(run_id = %message.run_id, "malformed stage message dropped"),
    }
    Ok(())
}
