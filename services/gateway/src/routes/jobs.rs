use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::Caller;
use crate::error::{ApiError, Code};
use crate::requests::{CreateJobRequest, ListJobsQuery};
use crate::routes::job_id;
use crate::service;
use crate::state::AppState;
use crate::views::{ErrorBody, JobPage, JobView};

/// The largest job request taken (2 MiB): one that brings its script,
/// past `server.max_json_bytes`.
pub const MAX_BODY_BYTES: usize = 2 << 20;

/// Create a job: 202 with the job; a repeat with the same `Idempotency-Key`
/// answers 200 with the job the first call made.
#[utoipa::path(post, path = "/v1/jobs", tag = "jobs", request_body = CreateJobRequest,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 200, pattern = "^[!-~]([ -~]*[!-~])?$",
        description = "Makes retries safe: the same key returns the same job (1 to 200 printable ASCII characters)")),
    responses(
        (status = 202, description = "Created", body = JobView), (status = 200, description = "Created earlier with this key", body = JobView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, description = "Invalid kind, upload, languages or options", body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<CreateJobRequest>,
) -> Result<HttpResponse, ApiError> {
    let key = req
        .headers()
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::to_owned))
        .transpose()
        .map_err(|_| {
            ApiError::new(
                Code::InvalidIdempotencyKey,
                "Idempotency-Key must be printable ASCII",
            )
        })?;
    let (job, created) = service::jobs::create(
        &state,
        caller,
        voxline_core::JobId::new(),
        body.into_inner(),
        key,
    )
    .await?;
    let view = service::jobs::view(&state, caller, job.id).await?;
    Ok(if created {
        HttpResponse::Accepted().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// A job: status, progress, tasks per language with their stages, errors and files.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs", params(("id" = String, Path, description = "Job id")),
    responses((status = 200, body = JobView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = service::jobs::view(&state, caller, job_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Your jobs, newest first.
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs", params(ListJobsQuery),
    responses((status = 200, body = JobPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ListJobsQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::jobs::list(&state, caller, q.into_inner()).await?))
}

/// Retry a job's failed tasks from the stage that failed; finished stages
/// and their files are kept.
#[utoipa::path(post, path = "/v1/jobs/{id}/retry", tag = "jobs", params(("id" = String, Path, description = "Job id")),
    responses((status = 202, body = JobView), (status = 404, body = ErrorBody), (status = 409, description = "Nothing failed", body = ErrorBody)))]
pub async fn retry(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Accepted().json(service::jobs::retry(&state, caller, job_id(&id)?).await?))
}

/// Cancel a job: running stages stop within seconds, nothing further runs.
#[utoipa::path(post, path = "/v1/jobs/{id}/cancel", tag = "jobs", params(("id" = String, Path, description = "Job id")),
    responses((status = 200, body = JobView), (status = 404, body = ErrorBody), (status = 409, description = "Already ended", body = ErrorBody)))]
pub async fn cancel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::jobs::cancel(&state, caller, job_id(&id)?).await?))
}
