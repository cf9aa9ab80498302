use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::requests::UploadQuery;
use crate::service;
use crate::state::AppState;
use crate::views::UploadView;

/// `POST /v1/uploads?filename=NAME`: the body is the media file's bytes.
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
