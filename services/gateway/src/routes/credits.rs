use actix_web::{HttpResponse, web};

use crate::auth::{Admin, Caller};
use crate::error::ApiError;
use crate::requests::{GrantRequest, UsageQuery};
use crate::service;
use crate::state::AppState;
use crate::views::{CreditsView, ErrorBody, UsagePage};

/// Your credits: available, reserved by running jobs, and the latest entries.
#[utoipa::path(get, path = "/v1/credits", tag = "account",
    responses((status = 200, body = CreditsView), (status = 401, body = ErrorBody)))]
pub async fn show(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::credits::show(&state, caller).await?))
}

/// Your engine usage over a period, summed per engine, stage or day, with
/// the estimated cost.
#[utoipa::path(get, path = "/v1/usage", tag = "account", params(UsageQuery),
    responses((status = 200, body = UsagePage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn usage(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<UsageQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::credits::usage(&state, caller, q.into_inner()).await?))
}

/// Grant credits to a tenant (negative amounts take some back). Takes the
/// admin token (`auth.admin_token`), not a tenant's.
#[utoipa::path(post, path = "/v1/admin/credits", tag = "account", request_body = GrantRequest,
    responses((status = 200, description = "The tenant's credits after the grant", body = CreditsView),
        (status = 401, body = ErrorBody), (status = 404, description = "The admin API is off", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn grant(
    state: web::Data<AppState>,
    _admin: Admin,
    body: web::Json<GrantRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::credits::grant(&state, body.into_inner()).await?))
}
