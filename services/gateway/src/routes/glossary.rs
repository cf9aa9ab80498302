use actix_web::{HttpResponse, web};

use crate::auth::Caller;
use crate::error::{ApiError, Code};
use crate::requests::{GlossaryRequest, check_glossary};
use crate::state::AppState;
use crate::views::{ErrorBody, GlossaryView};

/// The largest glossary body taken (2 MiB): 500 terms with renderings in
/// many languages, past `server.max_json_bytes`.
pub const MAX_BODY_BYTES: usize = 2 << 20;

/// Your glossary: the terms every job of yours honours (kept as they are,
/// or translated a fixed way per language), merged under each job's own
/// `options.glossary` when the job is made.
#[utoipa::path(get, path = "/v1/glossary", tag = "jobs",
    responses((status = 200, body = GlossaryView), (status = 401, body = ErrorBody)))]
pub async fn show(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let glossary = voxline_db::glossaries::get(&state.db, caller.tenant).await?;
    Ok(HttpResponse::Ok().json(GlossaryView::from(glossary)))
}

/// Replace your glossary (an empty list clears it; the body may be up to
/// 2 MiB). Jobs made from now on take it; jobs already made keep the terms
/// they were made with.
#[utoipa::path(put, path = "/v1/glossary", tag = "jobs", request_body = GlossaryRequest,
    responses((status = 200, body = GlossaryView), (status = 401, body = ErrorBody),
        (status = 422, description = "A term is malformed (`invalid_glossary`)", body = ErrorBody)))]
pub async fn replace(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<GlossaryRequest>,
) -> Result<HttpResponse, ApiError> {
    let terms = check_glossary(&body.terms, "terms", Code::InvalidGlossary)?;
    let glossary = voxline_db::glossaries::put(&state.db, caller.tenant, &terms).await?;
    tracing::info!(terms = terms.len(), "glossary replaced");
    Ok(HttpResponse::Ok().json(GlossaryView::from(glossary)))
}
