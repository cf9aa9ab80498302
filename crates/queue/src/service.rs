//! What every worker process does around its stage: connect to PostgreSQL,
//! Redis and storage, run a pool of apalis workers through the shared
//! runner, and stop gracefully on SIGTERM or SIGINT.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use voxline_config::Settings;
use voxline_db::Db;
use voxline_storage::Storage;

use voxline_providers::Engines;

use crate::{Dispatcher, QueueError, RedisGate, Runner, StageHandler, run_worker_pool};

/// The connections a worker (or the janitor) holds.
#[derive(Clone)]
pub struct Connections {
    pub db: Db,
    pub storage: Storage,
    pub dispatcher: Dispatcher,
}

impl Connections {
    pub async fn open(settings: &Settings) -> Result<Self, QueueError> {
        let db = Db::connect(settings.database.url.expose(), settings.database.pool_size)?;
        if settings.database.migrate_on_start {
            db.migrate().await?;
        }
        let storage = Storage::open(&settings.storage, &settings.server.public_url)
            .map_err(|e| QueueError::Setup(e.to_string()))?;
        let dispatcher = Dispatcher::connect(&settings.redis, db.clone()).await?;
        Ok(Self {
            db,
            storage,
            dispatcher,
        })
    }

    /// Ready when PostgreSQL, Redis and object storage all answer.
    pub fn readiness(&self) -> voxline_telemetry::ops::Readiness {
        let this = self.clone();
        Arc::new(move || {
            let this = this.clone();
            Box::pin(async move {
                let (db, redis, storage) =
                    tokio::join!(this.db.ping(), this.dispatcher.ping(), this.storage.ping());
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
    ) -> Result<Option<voxline_telemetry::ops::ServerHandle>, QueueError> {
        voxline_telemetry::ops::serve(&settings.telemetry.ops_bind, self.readiness())
            .map_err(|e| QueueError::Setup(e.to_string()))
    }

    /// The runner of `handler`'s stage over these connections.
    pub fn runner(
        &self,
        settings: &Settings,
        handler: Arc<dyn StageHandler>,
        shutdown: CancellationToken,
    ) -> Arc<Runner> {
        Arc::new(Runner::new(
            self.db.clone(),
            self.storage.clone(),
            self.dispatcher.clone(),
            settings,
            handler,
            shutdown,
        ))
    }
}

/// Runs one stage's worker pool until `shutdown`.
pub async fn run_stage(
    settings: &Settings,
    connections: &Connections,
    handler: Arc<dyn StageHandler>,
    service: &str,
    shutdown: CancellationToken,
) -> Result<(), QueueError> {
    let runner = connections.runner(settings, handler, shutdown.clone());
    run_worker_pool(runner, service, settings.runner.concurrency, shutdown).await
}

/// The engine chains of `settings`, their vendor requests limited through
/// Redis across every replica.
pub async fn engines(settings: &Settings) -> Result<Engines, QueueError> {
    Engines::from_settings(
        &settings.engines,
        &settings.vendors,
        vendor_gate(settings).await?,
    )
    .map_err(|e| QueueError::Setup(e.to_string()))
}

/// The gate every vendor request goes through, on the Redis of `settings`.
pub async fn vendor_gate(settings: &Settings) -> Result<Arc<RedisGate>, QueueError> {
    let conn = crate::dispatch::connect(&settings.redis).await?;
    Ok(Arc::new(RedisGate::new(conn, &settings.redis.namespace)))
}

/// The whole life of a worker process: connect, run `handler`'s stage until
/// SIGTERM or SIGINT, stop gracefully.
pub async fn run_service(
    settings: Settings,
    service: &str,
    handler: Arc<dyn StageHandler>,
) -> Result<(), QueueError> {
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
