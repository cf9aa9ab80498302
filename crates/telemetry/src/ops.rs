//! The operations endpoint every service serves on `telemetry.ops_bind`,
//! apart from the public API: `/healthz` (the process is up), `/readyz`
//! (its PostgreSQL and Redis answer) and `/metrics` (Prometheus).

use std::net::TcpListener;
use std::sync::Arc;

pub use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use futures::future::BoxFuture;

/// Whether the service can do its work; `Err` says what is missing.
pub type Readiness = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Starts the endpoint on `bind` in the background; `None` when `bind` is
/// empty. A taken or malformed address fails at start, naming the setting.
pub fn serve(bind: &str, ready: Readiness) -> std::io::Result<Option<ServerHandle>> {
    if bind.trim().is_empty() {
        return Ok(None);
    }
    let listener = TcpListener::bind(bind).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "telemetry.ops_bind ({bind}) cannot be listened on: {e}; give each process on \
                 a host its own address (VOXLINE__TELEMETRY__OPS_BIND), or \"\" to turn it off"
            ),
        )
    })?;
    serve_on(listener, ready).map(Some)
}

/// Starts the endpoint on `listener` in the background.
pub fn serve_on(listener: TcpListener, ready: Readiness) -> std::io::Result<ServerHandle> {
    tracing::info!(address = %listener.local_addr()?, "operations endpoint listening");
    // The checks run on the service's own runtime, where its connection
    // pools live, not on the endpoint's thread.
    let ready = web::Data::new(Checks {
        ready,
        runtime: tokio::runtime::Handle::current(),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(ready.clone())
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    let handle = server.handle();
    tokio::spawn(async move {
        if let Err(e) = server.await {
            tracing::error!(error = %e, "operations endpoint stopped");
        }
    });
    Ok(handle)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

/// How long the readiness checks may take before the answer is "not ready".
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

struct Checks {
    ready: Readiness,
    runtime: tokio::runtime::Handle,
}

async fn readyz(checks: web::Data<Checks>) -> HttpResponse {
    let check = checks.runtime.spawn((checks.ready)());
    let verdict = match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(Ok(verdict)) => verdict,
        Ok(Err(e)) => Err(format!("the check failed: {e}")),
        Err(_) => Err(format!(
            "the checks took longer than {} s",
            CHECK_TIMEOUT.as_secs()
        )),
    };
    match verdict {
        Ok(()) => HttpResponse::Ok().body("ready"),
        Err(why) => HttpResponse::ServiceUnavailable().body(format!("not ready: {why}")),
    }
}

async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::metrics::render())
}
