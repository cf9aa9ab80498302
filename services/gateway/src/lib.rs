//! The REST gateway: authenticates callers, receives uploads, records jobs
//! in PostgreSQL, dispatches their first stage, and reports progress.

pub mod auth;
mod compat;
pub mod error;
mod event_watch;
mod limits;
mod middleware;
mod openapi;
mod ranges;
mod requests;
mod routes;
mod schemas;
mod service;
mod snapshots;
/// The allocator of every process that serves the API (`#[global_allocator]`
/// in its `main`): mimalloc, measured against the system's in
/// `docs/benchmarks.md` (status reads).
pub use mimalloc::MiMalloc as Allocator;
pub use openapi::ApiDoc;
pub mod state;
mod views;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use auth::Authenticator;
use limits::Limiter;
use voxline_config::Settings;
use voxline_db::Db;
use voxline_providers::Engines;
use voxline_queue::Queue;
use voxline_storage::Storage;
use voxline_worker::CancellationToken;

pub use state::AppState;

/// Connects to everything the gateway needs, from settings.
pub async fn state_from(settings: &Settings, engines: Arc<Engines>) -> anyhow::Result<AppState> {
    let db = Db::connect(settings.database.url.expose(), settings.database.pool_size)?;
    let storage = Storage::open(&settings.storage, &settings.server.public_url)?;
    let queue = Queue::connect(&settings.redis, &settings.queue).await?;
    let limiter = Limiter::new(
        queue.connection(),
        &settings.redis.namespace,
        &settings.rate_limits,
    );
    Ok(AppState {
        creator: voxline_db::jobs::Creator::new(db.clone()),
        event_watch: event_watch::EventWatch::start(db.clone()),
        snapshots: snapshots::Snapshots::new(db.clone(), settings.server.job_views_kept),
        auth: Arc::new(Authenticator::new(&settings.auth, db.clone())),
        db,
        storage,
        queue,
        engines,
        limiter,
        outbound: voxline_providers::outbound::OutboundPolicy::from_settings(&settings.outbound),
        media_checks: Arc::new(tokio::sync::Semaphore::new(media_checks(&settings.server))),
        settings: Arc::new(settings.clone()),
    })
}

/// The uploads read through at once: as configured, or one per core.
fn media_checks(server: &voxline_config::ServerSettings) -> usize {
    match server.media_checks {
        0 => std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
        n => n,
    }
}

/// Serves the API on `listener` until `shutdown` is cancelled, then lets
/// requests in flight finish (up to 10 s).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let server_settings = state.settings.server.clone();
    let https = server_settings.public_url.starts_with("https://");
    let data = web::Data::new(state);
    tracing::info!(address = %listener.local_addr()?, "gateway listening");
    let max_json = server_settings.max_json_bytes;
    let origins = server_settings.cors_allowed_origins.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .configure(|cfg| routes::configure(cfg, max_json))
            .wrap(middleware::cors(&origins))
            .wrap(middleware::security_headers(https))
            .wrap(actix_web::middleware::from_fn(middleware::trace_requests))
    })
    .client_request_timeout(std::time::Duration::from_secs(
        server_settings.request_header_timeout_seconds,
    ))
    .listen(listener)?
    .shutdown_timeout(10)
    .disable_signals()
    .run();
    let handle = server.handle();
    tokio::spawn(async move {
        shutdown.cancelled().await;
        handle.stop(true).await;
    });
    server.await?;
    Ok(())
}

/// Runs the gateway until SIGTERM.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let shutdown = voxline_worker::shutdown_on_signals();
    let engines = Arc::new(voxline_worker::engines(&settings).await?);
    let state = state_from(&settings, engines).await?;
    if settings.database.migrate_on_start {
        state.db.migrate().await?;
    }
    let connections = voxline_worker::Connections {
        db: state.db.clone(),
        storage: state.storage.clone(),
        queue: state.queue.clone(),
    };
    let _ops = connections.serve_ops(&settings)?;
    let listener = TcpListener::bind(&settings.server.bind)?;
    serve(listener, state, shutdown).await
}
