use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::requests::{CreateJobRequest, ListJobsQuery};
use crate::routes::job_id;
use crate::service;
use crate::state::AppState;

/// `POST /v1/jobs`: 202 with the job; a repeat with the same
/// `Idempotency-Key` answers 200 with the job the first call made.
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
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be printable ASCII",
            )
        })?;
    let (job, created) = service::jobs::create(&state, caller, body.into_inner(), key).await?;
    let view = service::jobs::view(&state, caller, job.id).await?;
    Ok(if created {
        HttpResponse::Accepted().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = service::jobs::view(&state, caller, job_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(view))
}

pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ListJobsQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::jobs::list(&state, caller, q.into_inner()).await?))
}

pub async fn cancel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::jobs::cancel(&state, caller, job_id(&id)?).await?))
}
