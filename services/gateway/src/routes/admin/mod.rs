//! The operator API (`/v1/admin/...`, the admin token only) and the
//! dashboard page that reads it (`/admin`). The page and its script and
//! style are static and hold no data, so they need no token; the browser
//! asks the operator for it and sends it with every API call.

use actix_web::http::header::ContentType;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpResponse, web};

use super::{job_id, resource};
use crate::auth::Admin;
use crate::error::ApiError;
use crate::requests::OverviewQuery;
use crate::service;
use crate::state::AppState;
use crate::views::admin::OverviewView;
use crate::views::{ErrorBody, JobView};

/// Queue depths, workers alive, jobs by state over time, failed tasks, jobs
/// in flight and usage per tenant, across every tenant. Takes the admin
/// token (`auth.admin_token`).
#[utoipa::path(get, path = "/v1/admin/overview", tag = "admin", params(OverviewQuery),
    responses((status = 200, body = OverviewView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "The admin API is off", body = ErrorBody)))]
pub async fn overview(
    _admin: Admin,
    state: web::Data<AppState>,
    q: web::Query<OverviewQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::admin::overview(&state, q.into_inner()).await?))
}

/// Retry any tenant's job from the stages that failed. Takes the admin token.
#[utoipa::path(post, path = "/v1/admin/jobs/{id}/retry", tag = "admin",
    params(("id" = String, Path, description = "Job id")),
    responses((status = 202, body = JobView), (status = 401, body = ErrorBody),
        (status = 402, description = "The tenant's credits cannot cover the retry", body = ErrorBody),
        (status = 404, description = "No such job, or the admin API is off", body = ErrorBody),
        (status = 409, description = "Nothing failed", body = ErrorBody)))]
pub async fn retry(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Accepted().json(service::admin::retry(&state, job_id(&id)?).await?))
}

/// Cancel any tenant's job. Takes the admin token.
#[utoipa::path(post, path = "/v1/admin/jobs/{id}/cancel", tag = "admin",
    params(("id" = String, Path, description = "Job id")),
    responses((status = 200, body = JobView), (status = 401, body = ErrorBody),
        (status = 404, description = "No such job, or the admin API is off", body = ErrorBody),
        (status = 409, description = "Already ended", body = ErrorBody)))]
pub async fn cancel(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::admin::cancel(&state, job_id(&id)?).await?))
}

const PAGE: &str = include_str!("dashboard.html");
const SCRIPT: &str = include_str!("dashboard.js");
const STYLE: &str = include_str!("dashboard.css");

/// The dashboard page with its script and style. They are served apart
/// from the page so the policy can forbid inline code: the page runs only
/// its own script and talks only to this origin.
pub fn pages(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
        .wrap(
            DefaultHeaders::new()
                .add((
                    "content-security-policy",
                    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                     img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                ))
                // Revalidated on every load, so a new release is picked up.
                .add(("cache-control", "no-cache")),
        )
        .service(resource("", "GET").get(page))
        .service(resource("/", "GET").get(page))
        .service(resource("/dashboard.js", "GET").get(script))
        .service(resource("/dashboard.css", "GET").get(style)),
    );
}

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(PAGE)
}

async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(SCRIPT)
}

async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(STYLE)
}
