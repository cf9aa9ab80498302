//! Who is calling. Every route that touches tenant data takes a `Caller`;
//! all authentication schemes resolve to one here.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use voxline_core::TenantId;
use voxline_db::api_keys;

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated tenant of a request.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub tenant: TenantId,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("state missing", "no app data"))?;
            let header = header.ok_or_else(|| {
                ApiError::unauthorized("send `Authorization: Bearer vx_...` with an API key (create one with `voxline keys create`)")
            })?;
            let token = header
                .strip_prefix("Bearer ")
                .map(str::trim)
                .ok_or_else(|| {
                    ApiError::unauthorized("the Authorization header must be `Bearer <api key>`")
                })?;
            match api_keys::authenticate(&state.db, token).await? {
                Some(tenant) => Ok(Caller { tenant }),
                None => Err(ApiError::unauthorized("the API key is unknown or revoked")),
            }
        })
    }
}
