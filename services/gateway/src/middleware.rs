//! What wraps every request: its span, access log line (without query
//! strings, which carry link signatures) and metrics, security headers, CORS
//! for the allowed browser origins, the per-address rate limit, the
//! request timeout, and authentication ahead of the handler.

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{Error, ResponseError, web};

use tracing::Instrument;
use voxline_telemetry::trace_context;

use crate::limits::RouteClass;
use crate::state::AppState;

/// The request's span (continuing the caller's trace when it sends a W3C
/// `traceparent`), its access log line, and its count and latency labelled
/// by the matched route. Outermost, so every other layer's logs carry the
/// trace id. The line leaves out the query string: signed download and
/// upload links carry their signature there.
pub async fn trace_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = std::time::Instant::now();
    let method = voxline_telemetry::metrics::known_method(req.method().as_str());
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let line = format!(
        "{} \"{method} {} {:?}\"",
        req.peer_addr().map_or("-".into(), |a| a.ip().to_string()),
        req.path(),
        req.version()
    );
    let span = tracing::info_span!("request", otel.name = format!("{method} {route}"),
        otel.kind = "server", http.request.method = %method, http.route = %route,
        http.response.status_code = tracing::field::Empty, trace_id = tracing::field::Empty);
    if let Some(parent) = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
    {
        trace_context::set_parent(&span, parent);
    }
    span.record("trace_id", trace_context::trace_id(&span));
    let response = next.call(req).instrument(span.clone()).await;
    let status = match &response {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    let took = started.elapsed();
    span.record("http.response.status_code", status);
    span.in_scope(|| {
        tracing::info!(target: "voxline::http", "{line} {status} {:.3}ms", took.as_secs_f64() * 1e3);
    });
    voxline_telemetry::metrics::http_request(method, &route, status, took);
    response
}

/// Headers every answer carries. API answers hold signed links and tenant
/// data, so they are never cached by intermediaries.
pub fn security_headers(https: bool) -> DefaultHeaders {
    let mut headers = DefaultHeaders::new()
        .add(("x-content-type-options", "nosniff"))
        .add(("x-frame-options", "DENY"))
        .add(("referrer-policy", "no-referrer"));
    if https {
        headers = headers.add(("strict-transport-security", "max-age=31536000"));
    }
    headers
}

/// The stricter headers of JSON API scopes (not the Swagger UI page).
pub fn api_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ))
        .add(("cache-control", "no-store"))
}

/// CORS for the configured browser origins (`*` for any). Bearer tokens
/// travel in a header, never in cookies, so no credentials mode. Streaming
/// packages are open to every origin: their signed link is the permission,
/// and the players that fetch them live on the tenants' own sites.
pub fn cors(origins: &[String]) -> Cors {
    let cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "DELETE", "OPTIONS"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::RANGE,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([
            header::RETRY_AFTER,
            header::CONTENT_RANGE,
            header::ACCEPT_RANGES,
            header::CONTENT_LENGTH,
        ])
        .max_age(600);
    if origins.iter().any(|o| o == "*") {
        return cors.allow_any_origin();
    }
    let origins: Vec<String> = origins
        .iter()
        .map(|o| o.trim_end_matches('/').to_owned())
        .collect();
    cors.allowed_origin_fn(move |origin, request| {
        request.uri.path().starts_with("/v1/packages/")
            || origins.iter().any(|o| origin.as_bytes() == o.as_bytes())
    })
}

/// Refuses requests past the client address's budget, before any
/// authentication work is spent on them; one that carries no credentials
/// at all is told so (401) rather than to slow down.
pub async fn limit_by_address(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, Error> {
    if let Some(state) = req.app_data::<web::Data<AppState>>() {
        let http = req.request();
        if let Some(ip) = state.limiter.client_address(http)
            && let Err(refused) = state.limiter.check_address(RouteClass::of(http), ip).await
        {
            let refusal = crate::auth::missing_credentials(http).unwrap_or(refused);
            let response = refusal.error_response();
            return Ok(req.into_response(response));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Authenticates the caller before the handler runs (see
/// [`crate::auth::authenticate_first`]); the handler's `Caller` takes the
/// outcome, refusal included.
pub async fn authenticate_first(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    crate::auth::authenticate_first(req.request()).await;
    next.call(req).await
}

/// Answers 503 `timeout` when a call takes longer than
/// `server.request_timeout_seconds`; its work is dropped (a transaction in
/// flight rolls back). Bodies that stream (uploads, downloads, event
/// streams, packages, whose all-languages MP4 is made on request) are
/// exempt: they last as long as their bytes flow. The refusal travels as an
/// error (the request itself went down with the dropped
/// work), which actix answers with its `error_response`.
pub async fn time_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, Error> {
    let path = req.path();
    let streams = path.ends_with("/events")
        || path.ends_with("/uploads")
        || path == "/v1/files"
        || path.starts_with("/v1/packages/");
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map(|s| std::time::Duration::from_secs(s.settings.server.request_timeout_seconds));
    let (Some(limit), false) = (limit, streams) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let path = path.to_owned();
    match tokio::time::timeout(limit, next.call(req)).await {
        Ok(response) => Ok(response?.map_into_boxed_body()),
        Err(_) => {
            tracing::warn!(path = %path, limit_s = limit.as_secs(), "request timed out");
            Err(crate::error::ApiError::new(
                crate::error::Code::Timeout,
                format!("the call took longer than {} s; try again", limit.as_secs()),
            )
            .retry_after(5)
            .into())
        }
    }
}
