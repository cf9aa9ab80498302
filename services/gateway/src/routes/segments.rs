use actix_web::{HttpResponse, web};
use voxline_core::edits::Edits;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::requests::EditSegmentsRequest;
use crate::routes::job_id;
use crate::service;
use crate::state::AppState;
use crate::views::{ErrorBody, JobView, SegmentsView};

/// A task's dubbed lines as they are now: timings, text, the transcribed
/// source line, and whether the user edited it.
#[utoipa::path(get, path = "/v1/jobs/{id}/tasks/{language}/segments", tag = "jobs",
    params(("id" = String, Path, description = "Job id"), ("language" = String, Path, description = "The task's language (ISO 639-1)")),
    responses((status = 200, body = SegmentsView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Not translated yet", body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, language) = path.into_inner();
    let view = service::segments::list(&state, caller, job_id(&id)?, &language).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Change some lines of a finished task: 202 while only what changed is
/// spoken again and the dub is rendered and published anew; 200 when the
/// lines already say that.
#[utoipa::path(put, path = "/v1/jobs/{id}/tasks/{language}/segments", tag = "jobs",
    request_body = EditSegmentsRequest,
    params(("id" = String, Path, description = "Job id"), ("language" = String, Path, description = "The task's language (ISO 639-1)")),
    responses((status = 202, description = "Re-running", body = JobView), (status = 200, description = "Nothing changed", body = JobView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The task is running, the job was cancelled, or nothing is translated yet", body = ErrorBody),
        (status = 422, description = "An unknown line, an empty text, or timings that overlap", body = ErrorBody)))]
pub async fn edit(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<EditSegmentsRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, language) = path.into_inner();
    let changes = Edits::try_from(body.into_inner())?;
    let (view, rerun) =
        service::segments::edit(&state, caller, job_id(&id)?, &language, changes).await?;
    Ok(if rerun {
        HttpResponse::Accepted().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}
