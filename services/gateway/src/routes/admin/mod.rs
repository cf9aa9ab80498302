//! The operator API (`/v1/admin/...`, the admin token only) and the
//! dashboard page that reads it (`/admin`). The page and its script and
//! style are static and hold no data, so they need no token; the browser
//! asks the operator for it and sends it with every API call.

use actix_web::{HttpResponse, web};

use super::job_id;
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

/// The dashboard page, its script and its style.
pub fn pages(cfg: &mut web::ServiceConfig) {
    super::pages::serve(
        cfg,
        super::pages::Page {
            scope: "/admin",
            html: include_str!("dashboard.html"),
            script: ("/dashboard.js", include_str!("dashboard.js")),
            style: ("/dashboard.css", include_str!("dashboard.css")),
        },
    );
}
