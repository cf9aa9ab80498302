use std::sync::Arc;

use apalis::layers::WorkerBuilderExt;
use apalis::prelude::{BoxDynError, Data, WorkerBuilder, WorkerContext};
use apalis_redis::RedisStorage;
use std::time::Duration;

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
    let mut workers = tokio::task::JoinSet::new();
    let mut names = Vec::new();
    for i in 0..concurrency.max(1) {
        let storage = RedisStorage::<StageJob>::new(runner.dispatcher().connection())
            .with_config(config.clone());
        // Names must be unique per process: apalis recovers a dead worker's
        // messages by name.
        let name = format!("{identity}-{i}");
        // One stage at a time per apalis worker: without the limit, apalis
        // keeps fetching while a stage runs, and a backlog makes one process
        // run dozens of stages at once, starve its database pool, miss its
        // lease renewals and lose its work (seen in the fault suite).
        let worker = WorkerBuilder::new(name.clone())
            .backend(storage)
            .data(runner.clone())
            .concurrency(1)
            .build(handle);
        let stop = shutdown
            .clone()
            .cancelled_owned()
            .map(Ok::<(), std::io::Error>);
        workers.spawn(worker.run_until(stop));
        names.push(name);
    }
    tracing::info!(stage = %stage, workers = names.len(), "worker pool started");
    let stalled = watch(
        runner.clone(),
        config.workers_set(),
        names,
        shutdown.clone(),
    );
    tokio::pin!(stalled);
    let mut failure = None;
    loop {
        tokio::select! {
            // A stalled pool is not waited for: the process exits and is restarted.
            message = &mut stalled => return Err(QueueError::Push { queue: config.queue.to_string(), message }),
            done = workers.join_next() => match done {
                None => break,
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(e))) => failure = Some(e.to_string()),
                Some(Err(e)) => failure = Some(e.to_string()),
            },
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

/// How long an idle worker's apalis heartbeat may be silent before the pool
/// counts as stalled.
const STALL: Duration = Duration::from_secs(30);

/// Resolves if the pool's apalis workers stop heartbeating while no stage
/// runs: the silent stop apalis-redis can fall into after Redis faults (a
/// busy worker does not heartbeat, so only idle silence counts, and it must
/// be seen twice in a row). Never resolves otherwise.
async fn watch(
    runner: Arc<Runner>,
    workers_set: String,
    names: Vec<String>,
    shutdown: CancellationToken,
) -> String {
    let mut conn = runner.dispatcher().connection();
    let mut strikes = 0;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => std::future::pending::<()>().await,
            _ = tokio::time::sleep(STALL / 3) => {}
        }
        if runner.is_busy() {
            strikes = 0;
            continue;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mut silent = false;
        for name in &names {
            let beat: Option<f64> = redis::cmd("ZSCORE")
                .arg(&workers_set)
                .arg(name)
                .query_async(&mut conn)
                .await
                .unwrap_or(None);
            silent |= beat.is_none_or(|at| now - at > STALL.as_secs_f64());
        }
        strikes = if silent && !runner.is_busy() {
            strikes + 1
        } else {
            0
        };
        if strikes >= 2 {
            tracing::error!(
                "the worker pool stopped heartbeating while idle; exiting to be restarted"
            );
            return "the worker pool stalled (no apalis heartbeat while idle)".into();
        }
    }
}

async fn handle(
    message: StageJob,
    runner: Data<Arc<Runner>>,
    worker: WorkerContext,
) -> Result<(), BoxDynError> {
    match run_of(&message) {
        Some(run) => {
            runner
                .process_traced(run, &message.traceparent, worker.name())
                .await?;
        }
        // Retrying a malformed message cannot help; PostgreSQL still holds the run.
        None => tracing::warn!(run_id = %message.run_id, "malformed stage message dropped"),
    }
    Ok(())
}
