//! What every worker process does around its stage: connect to PostgreSQL,
//! Redis and storage, run its stage's worker through the shared runner,
//! and stop gracefully on SIGTERM or SIGINT.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use voxline_config::Settings;
use voxline_core::Stage;
use voxline_db::Db;
use voxline_providers::Engines;
use voxline_queue::{Consumer, Queue};
use voxline_storage::Storage;
use voxline_vendor_gate::RedisGate;

use crate::{Runner, StageHandler, WorkerError, run_worker_pool};

/// The connections a worker (or the janitor, or the gateway) holds.
#[derive(Clone)]
pub struct Connections {
    pub db: Db,
    pub storage: Storage,
    pub queue: Queue,
}

impl Connections {
    pub async fn open(settings: &Settings) -> Result<Self, WorkerError> {
        let db = Db::connect(settings.database.url.expose(), settings.database.pool_size)?;
        if settings.database.migrate_on_start {
            db.migrate().await?;
        }
        let storage = Storage::open(&settings.storage, &settings.server.public_url)
            .map_err(|e| WorkerError::Setup(e.to_string()))?;
        let queue = Queue::connect(&settings.redis, &settings.queue).await?;
        Ok(Self { db, storage, queue })
    }

    /// Ready when PostgreSQL, Redis and object storage all answer.
    pub fn readiness(&self) -> voxline_telemetry::ops::Readiness {
        let this = self.clone();
        Arc::new(move || {
            let this = this.clone();
            Box::pin(async move {
                let (db, redis, storage) =
                    tokio::join!(this.db.ping(), this.queue.ping(), this.storage.ping());
                db.map_err(|e| format!("PostgreSQL: {e}"))?;
                redis.map_err(|e| format!("Redis: {e}"))?;
                storage.map_err(|e| format!("object storage: {e}"))
            })
        })
    }

    /// Serves `/healthz`, `/readyz` and `/metrics` on `telemetry.ops_bind`.
    pub fn serve_ops(
        &self,
        settings: &Settings,
    ) -> Result<Option<voxline_telemetry::ops::ServerHandle>, WorkerError> {
        voxline_telemetry::ops::serve(&settings.telemetry.ops_bind, self.readiness())
            .map_err(|e| WorkerError::Setup(e.to_string()))
    }

    /// The runner of `handler`'s stage in this process.
    pub fn runner(
        &self,
        settings: &Settings,
        handler: Arc<dyn StageHandler>,
        shutdown: CancellationToken,
    ) -> Runner {
        let consumer = Consumer::new(
            self.queue.clone(),
            handler.stage(),
            &worker_name(handler.stage()),
            settings.runner.concurrency,
        );
        Runner::new(
            self.db.clone(),
            self.storage.clone(),
            consumer,
            settings,
            handler,
            shutdown,
        )
    }
}

/// A name unique to this process and stage: the worker's queue consumer
/// and its lease holder.
pub fn worker_name(stage: Stage) -> String {
    format!(
        "{stage}-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Runs one stage's worker until `shutdown`.
pub async fn run_stage(
    settings: &Settings,
    connections: &Connections,
    handler: Arc<dyn StageHandler>,
    service: &str,
    shutdown: CancellationToken,
) -> Result<(), WorkerError> {
    let runner = connections.runner(settings, handler, shutdown.clone());
    tracing::info!(service, worker = runner.worker(), "stage worker starting");
    run_worker_pool(runner, shutdown).await
}

/// The engine chains of `settings`, their vendor requests limited through
/// Redis across every replica.
pub async fn engines(settings: &Settings) -> Result<Engines, WorkerError> {
    Engines::from_settings(
        &settings.engines,
        &settings.vendors,
        vendor_gate(settings).await?,
    )
    .map_err(|e| WorkerError::Setup(e.to_string()))
}

/// The gate every vendor request goes through, on the Redis of `settings`.
pub async fn vendor_gate(settings: &Settings) -> Result<Arc<RedisGate>, WorkerError> {
    let queue = Queue::connect(&settings.redis, &settings.queue).await?;
    Ok(Arc::new(RedisGate::new(
        queue.connection(),
        &settings.redis.namespace,
    )))
}

/// The whole life of a worker process: connect, run `handler`'s stage until
/// SIGTERM or SIGINT, stop gracefully.
pub async fn run_service(
    settings: Settings,
    service: &str,
    handler: Arc<dyn StageHandler>,
) -> Result<(), WorkerError> {
    let shutdown = shutdown_on_signals();
    let connections = Connections::open(&settings).await?;
    let _ops = connections.serve_ops(&settings)?;
    run_stage(&settings, &connections, handler, service, shutdown).await
}

/// A token cancelled on the first SIGTERM or SIGINT.
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
        tracing::info!("shutdown requested: finishing or releasing running stages");
        trigger.cancel();
    });
    token
}
