//! Route table of the native API (`/v1`) and the operational endpoints.

pub(crate) mod admin;
pub(crate) mod credits;
pub(crate) mod deliveries;
pub(crate) mod events;
pub(crate) mod files;
pub(crate) mod glossary;
pub(crate) mod health;
pub(crate) mod jobs;
pub(crate) mod keys;
pub(crate) mod package;
mod pages;
pub(crate) mod segments;
pub(crate) mod studio;
pub(crate) mod uploads;
pub(crate) mod voices;

use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, error::JsonPayloadError, web};

use crate::error::{ApiError, Code};
use crate::middleware::{api_headers, authenticate_first, limit_by_address, time_limit};

pub fn configure(cfg: &mut web::ServiceConfig, max_json_bytes: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(max_json_bytes)
            .error_handler(json_error),
    )
    .app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| ApiError::new(Code::InvalidQuery, e.to_string()).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|e, _| ApiError::new(Code::InvalidPath, e.to_string()).into()),
    )
    .service(resource("/healthz", "GET").get(health::healthz))
    .service(resource("/readyz", "GET").get(health::readyz))
    // The API scopes come before the pages: routes are tried in order, and
    // the pages' patterns are matched by regular expression.
    .service(
        web::scope("/v1")
            .wrap(from_fn(authenticate_first))
            .wrap(from_fn(time_limit))
            .wrap(from_fn(limit_by_address))
            .wrap(api_headers())
            .service(resource("/uploads", "POST").post(uploads::create))
            .service(
                resource("/jobs", "GET, POST")
                    // A job may bring its script (10 000 lines at most).
                    .app_data(
                        web::JsonConfig::default()
                            .limit(jobs::MAX_BODY_BYTES)
                            .error_handler(json_error),
                    )
                    .get(jobs::list)
                    .post(jobs::create),
            )
            .service(resource("/jobs/{id}", "GET").get(jobs::get))
            .service(resource("/jobs/{id}/cancel", "POST").post(jobs::cancel))
            .service(resource("/jobs/{id}/retry", "POST").post(jobs::retry))
            .service(resource("/jobs/{id}/events", "GET").get(events::stream))
            .service(resource("/jobs/{id}/deliveries", "GET").get(deliveries::list))
            .service(
                resource("/jobs/{id}/tasks/{language}/segments", "GET, PUT")
                    .get(segments::list)
                    .put(segments::edit),
            )
            .service(
                resource("/files", "GET, PUT")
                    .get(files::download)
                    .put(files::upload),
            )
            .service(
                resource("/packages/{job}/{expires}/{sig}/{file:.*}", "GET").get(package::serve),
            )
            .service(
                resource("/keys", "GET, POST")
                    .get(keys::list)
                    .post(keys::create),
            )
            .service(resource("/keys/{id}", "DELETE").delete(keys::revoke))
            .service(resource("/voices", "GET").get(voices::list))
            .service(
                resource("/glossary", "GET, PUT")
                    // A whole glossary (500 terms, each with its renderings
                    // per language) is larger than a request's usual cap.
                    .app_data(
                        web::JsonConfig::default()
                            .limit(glossary::MAX_BODY_BYTES)
                            .error_handler(json_error),
                    )
                    .get(glossary::show)
                    .put(glossary::replace),
            )
            .service(resource("/credits", "GET").get(credits::show))
            .service(resource("/usage", "GET").get(credits::usage))
            .service(resource("/admin/credits", "POST").post(credits::grant))
            .service(resource("/admin/overview", "GET").get(admin::overview))
            .service(resource("/admin/jobs/{id}/retry", "POST").post(admin::retry))
            .service(resource("/admin/jobs/{id}/cancel", "POST").post(admin::cancel)),
    )
    .configure(admin::pages)
    .configure(studio::pages)
    .service(
        web::scope("/api")
            .wrap(from_fn(authenticate_first))
            .wrap(from_fn(time_limit))
            .wrap(api_headers())
            .wrap(from_fn(limit_by_address))
            // Outermost: every error of this scope, the rate limit's too,
            // in the shape the frontend reads.
            .wrap(from_fn(crate::compat::flat_errors))
            .configure(crate::compat::routes),
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
    .default_service(web::to(not_found));
}

fn json_error(e: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let error = match &e {
        JsonPayloadError::ContentType => ApiError::new(
            Code::UnsupportedContentType,
            "send the body as JSON with `Content-Type: application/json`",
        ),
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            Code::BodyTooLarge,
            format!("JSON bodies are limited to {limit} bytes"),
        ),
        JsonPayloadError::Deserialize(de) => ApiError::new(
            Code::InvalidJson,
            format!("the JSON body is not valid: {de}"),
        ),
        other => ApiError::new(Code::InvalidJson, other.to_string()),
    };
    error.into()
}

pub(crate) async fn not_found(req: HttpRequest) -> HttpResponse {
    use actix_web::ResponseError;
    ApiError::new(
        Code::NotFound,
        format!("no route for {} {}", req.method(), req.path()),
    )
    .error_response()
}

/// A path's resource; any method it does not serve is answered 405 with
/// an `Allow` header listing `allow`.
pub(crate) fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        use actix_web::ResponseError;
        let mut response = ApiError::new(
            Code::MethodNotAllowed,
            format!(
                "{} does not take {}; it takes {allow}",
                req.path(),
                req.method()
            ),
        )
        .error_response();
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(allow) {
            response
                .headers_mut()
                .insert(actix_web::http::header::ALLOW, value);
        }
        response
    }))
}

/// Parses an id from the path; a malformed one is answered like a missing one.
pub(crate) fn job_id(text: &str) -> Result<voxline_core::JobId, ApiError> {
    voxline_core::JobId::parse(text).map_err(|_| ApiError::not_found("job"))
}
