//! Route table of the native API (`/v1`) and the operational endpoints.

pub(crate) mod deliveries;
pub(crate) mod events;
pub(crate) mod files;
pub(crate) mod health;
pub(crate) mod jobs;
pub(crate) mod keys;
pub(crate) mod uploads;

use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, error::JsonPayloadError, web};

use crate::error::ApiError;
use crate::middleware::{api_headers, limit_by_address};

pub fn configure(cfg: &mut web::ServiceConfig, max_json_bytes: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(max_json_bytes)
            .error_handler(json_error),
    )
    .app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| ApiError::bad_request("invalid_query", e.to_string()).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|e, _| ApiError::bad_request("invalid_path", e.to_string()).into()),
    )
    .service(utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}").url(
        "/openapi.json",
        <crate::openapi::ApiDoc as utoipa::OpenApi>::openapi(),
    ))
    .route(
        "/docs",
        web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header(("location", "/docs/"))
                .finish()
        }),
    )
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz))
    .service(
        web::scope("/v1")
            .wrap(from_fn(limit_by_address))
            .wrap(api_headers())
            .route("/uploads", web::post().to(uploads::create))
            .route("/jobs", web::post().to(jobs::create))
            .route("/jobs", web::get().to(jobs::list))
            .route("/jobs/{id}", web::get().to(jobs::get))
            .route("/jobs/{id}/cancel", web::post().to(jobs::cancel))
            .route("/jobs/{id}/retry", web::post().to(jobs::retry))
            .route("/jobs/{id}/events", web::get().to(events::stream))
            .route("/jobs/{id}/deliveries", web::get().to(deliveries::list))
            .route("/files", web::get().to(files::download))
            .route("/files", web::put().to(files::upload))
            .route("/keys", web::post().to(keys::create))
            .route("/keys", web::get().to(keys::list))
            .route("/keys/{id}", web::delete().to(keys::revoke)),
    )
    .service(
        web::scope("/api")
            .wrap(api_headers())
            .wrap(from_fn(limit_by_address))
            // Outermost: every error of this scope, the rate limit's too,
            // in the shape the frontend reads.
            .wrap(from_fn(crate::compat::flat_errors))
            .configure(crate::compat::routes),
    )
    .default_service(web::to(not_found));
}

fn json_error(e: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let error = match &e {
        JsonPayloadError::ContentType => ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_content_type",
            "send the body as JSON with `Content-Type: application/json`",
        ),
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("JSON bodies are limited to {limit} bytes"),
        ),
        JsonPayloadError::Deserialize(de) => {
            ApiError::bad_request("invalid_json", format!("the JSON body is not valid: {de}"))
        }
        other => ApiError::bad_request("invalid_json", other.to_string()),
    };
    error.into()
}

pub(crate) async fn not_found(req: HttpRequest) -> HttpResponse {
    use actix_web::ResponseError;
    ApiError::new(
        actix_web::http::StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {} {}", req.method(), req.path()),
    )
    .error_response()
}

/// Parses an id from the path; a malformed one is answered like a missing one.
pub(crate) fn job_id(text: &str) -> Result<voxline_core::JobId, ApiError> {
    voxline_core::JobId::parse(text).map_err(|_| ApiError::not_found("job"))
}
