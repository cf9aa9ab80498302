//! Thin handlers of the frontend's routes: extract, call the compat
//! service, answer.

use actix_web::{HttpResponse, web};

use super::service;
use super::wire::*;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Reserve a job id and get pre-signed PUT URLs for its tracks.
#[utoipa::path(post, path = "/api/jobs/upload-urls", tag = "frontend", request_body = UploadUrlsRequest,
    responses((status = 200, body = UploadUrlsResponse), (status = 401, body = FlatError),
        (status = 422, description = "A language no engine chain serves, or a bad file name", body = FlatError)))]
pub async fn upload_urls(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<UploadUrlsRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::upload_urls(&state, caller, body.into_inner()).await?))
}

/// Start the dub once the tracks are uploaded; repeats answer the same job.
/// The frontend posts to `/api/jobs/`; both forms are served.
#[utoipa::path(post, path = "/api/jobs", tag = "frontend", request_body = SubmitJobRequest,
    responses((status = 201, body = CreatedJob), (status = 200, description = "Created earlier", body = CreatedJob),
        (status = 400, description = "A track is missing, or `duration_mismatch` (with `voice_duration` and `background_duration`)", body = FlatError),
        (status = 404, body = FlatError), (status = 413, body = FlatError), (status = 422, body = FlatError)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<SubmitJobRequest>,
) -> Result<HttpResponse, ApiError> {
    let (answer, created) = service::create(&state, caller, body.into_inner()).await?;
    Ok(if created {
        HttpResponse::Created().json(answer)
    } else {
        HttpResponse::Ok().json(answer)
    })
}

/// A job's progress, per language, with the dub's link once it is done.
#[utoipa::path(get, path = "/api/jobs/{id}", tag = "frontend", params(("id" = String, Path, description = "Job id")),
    responses((status = 200, body = JobStatusView), (status = 401, body = FlatError), (status = 404, body = FlatError)))]
pub async fn status(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::status(&state, caller, &id).await?))
}

/// Your newest jobs (up to 100), with links per finished language.
#[utoipa::path(get, path = "/api/jobs", tag = "frontend",
    responses((status = 200, body = Vec<JobListItem>), (status = 401, body = FlatError)))]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::list(&state, caller).await?))
}

/// Cancel a running job, or delete an ended one with its files.
#[utoipa::path(delete, path = "/api/jobs/{id}", tag = "frontend", params(("id" = String, Path, description = "Job id")),
    responses((status = 204, description = "Cancelled or deleted"), (status = 401, body = FlatError), (status = 404, body = FlatError)))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    service::delete(&state, caller, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Your files (newest 500): dubs, voices and captions, with links until they expire.
#[utoipa::path(get, path = "/api/downloads", tag = "frontend",
    responses((status = 200, body = Vec<DownloadItem>), (status = 401, body = FlatError)))]
pub async fn downloads(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::downloads(&state, caller).await?))
}
