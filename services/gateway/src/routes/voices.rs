use actix_web::{HttpResponse, web};

use crate::auth::Caller;
use crate::state::AppState;
use crate::views::{ErrorBody, VoicesView};

/// The voices a dub may ask for (`options.voice`), per language the
/// configured engines speak, the one each language is spoken in by default
/// marked.
#[utoipa::path(get, path = "/v1/voices", tag = "jobs",
    responses((status = 200, body = VoicesView), (status = 401, body = ErrorBody)))]
pub async fn list(state: web::Data<AppState>, _caller: Caller) -> HttpResponse {
    HttpResponse::Ok().json(VoicesView::of(&state.engines))
}
