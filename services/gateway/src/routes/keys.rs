use actix_web::{HttpResponse, web};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::requests::CreateKeyRequest;
use crate::service;
use crate::state::AppState;
use crate::views::{CreatedKeyView, ErrorBody, KeyList};

/// Create an API key. Its secret is in this answer and nowhere else: only
/// a hash is kept.
#[utoipa::path(post, path = "/v1/keys", tag = "keys", request_body = CreateKeyRequest,
    responses((status = 201, body = CreatedKeyView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let created = service::keys::create(&state, caller, &body.name).await?;
    Ok(HttpResponse::Created().json(created))
}

/// Your API keys, newest first, without their secrets.
#[utoipa::path(get, path = "/v1/keys", tag = "keys",
    responses((status = 200, body = KeyList), (status = 401, body = ErrorBody)))]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let keys = service::keys::list(&state, caller).await?;
    Ok(HttpResponse::Ok().json(KeyList { keys }))
}

/// Revoke an API key: it stops working at once.
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "keys", params(("id" = String, Path, description = "Key id")),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    service::keys::revoke(&state, caller, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}
