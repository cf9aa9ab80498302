use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()), responses((status = 200, description = "Up")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The process can serve: PostgreSQL, Redis and object storage all answer.
#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses((status = 200, description = "Ready"), (status = 503, description = "A dependency is down; the body says which")))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let (db, redis, storage) =
        tokio::join!(state.db.ping(), state.queue.ping(), state.storage.ping());
    let check = |r: Result<(), String>| match r {
        Ok(()) => json!({ "ok": true }),
        Err(e) => json!({ "ok": false, "error": e }),
    };
    let ready = db.is_ok() && redis.is_ok() && storage.is_ok();
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "postgres": check(db.map_err(|e| e.to_string())),
        "redis": check(redis.map_err(|e| e.to_string())),
        "storage": check(storage.map_err(|e| e.to_string())),
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
