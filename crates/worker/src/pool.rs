//! A stage's apalis worker: the runner's service over the consumer's
//! backend, running up to `runner.concurrency` stages at once.

use apalis::layers::WorkerBuilderExt;
use apalis::prelude::{BoxDynError, Data, WorkerBuilder};
use futures::FutureExt;
use tokio_util::sync::CancellationToken;
use voxline_queue::StageJob;

use crate::WorkerError;
use crate::runner::{Delivery, Runner};

/// Runs the runner's stage until `shutdown`: then takes nothing more, lets
/// running stages finish (or hands them back after the grace period), and
/// gives back what it had taken and not started.
pub async fn run_worker_pool(
    runner: Runner,
    shutdown: CancellationToken,
) -> Result<(), WorkerError> {
    let stage = runner.stage();
    let concurrency = runner.settings().concurrency.max(1);
    let backend = runner.consumer().backend();
    let worker = WorkerBuilder::new(runner.worker().to_owned())
        .backend(backend)
        .data(runner.clone())
        // Without the limit, apalis would take work while stages run.
        .concurrency(concurrency)
        .build(handle);
    tracing::info!(%stage, worker = runner.worker(), concurrency, "worker started");
    let stop = shutdown.cancelled_owned().map(Ok::<(), std::io::Error>);
    worker
        .run_until(stop)
        .await
        .map_err(|e| WorkerError::Stopped(e.to_string()))?;
    tracing::info!(%stage, "worker stopped");
    Ok(())
}

async fn handle(job: StageJob, runner: Data<Runner>) -> Result<Delivery, BoxDynError> {
    Ok(runner.process_job(&job).await?)
}
