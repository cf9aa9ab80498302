use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::requests::UploadQuery;
use crate::service;
use crate::state::AppState;
use crate::views::{ErrorBody, UploadView};

/// Store a media file: the body is the file's bytes, streamed to storage
/// under the size cap and probed with ffprobe.
#[utoipa::path(post, path = "/v1/uploads", tag = "media", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The media file's bytes"),
    responses(
        (status = 201, description = "Stored and probed", body = UploadView),
        (status = 401, body = ErrorBody), (status = 413, description = "Over the size cap", body = ErrorBody),
        (status = 422, description = "Not audio or video, no audio track, or too long", body = ErrorBody),
        (status = 507, description = "The server's storage is full; nothing was kept (`storage_full`, with `Retry-After`)", body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: web::Query<UploadQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let upload = service::uploads::receive(
        &state,
        caller,
        query.filename.as_deref(),
        content_type,
        payload,
    )
    .await?;
    Ok(HttpResponse::Created().json(UploadView::from(&upload)))
}
