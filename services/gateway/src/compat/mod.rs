//! The existing dubbing frontend's API under `/api`, so that frontend works
//! against Voxline unchanged (see docs/frontend/client-calls.md):
//! a thin mapping onto the same services as `/v1`. Its errors are flat,
//! `{"error": code, "message": ...}`, the shape the frontend reads.

pub(crate) mod handlers;
mod service;
mod status;
pub(crate) mod wire;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::Next;
use actix_web::{Error, web};
use serde_json::Value;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use crate::routes::resource;
    cfg.service(resource("/jobs/upload-urls", "POST").post(handlers::upload_urls));
    // The frontend posts to `/api/jobs/`; both forms are served (the
    // OpenAPI document names the one without the slash).
    for path in ["/jobs", "/jobs/"] {
        cfg.service(
            resource(path, "GET, POST")
                .get(handlers::list)
                .post(handlers::create),
        );
    }
    cfg.service(
        resource("/jobs/{id}", "GET, DELETE")
            .get(handlers::status)
            .delete(handlers::delete),
    )
    .service(resource("/downloads", "GET").get(handlers::downloads))
    .default_service(web::to(crate::routes::not_found));
}

/// Rewrites this scope's error answers from `{"error": {"code", "message",
/// ...}}` to `{"error": code, "message", ...}`.
pub async fn flat_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let res = match next.call(req).await {
        Ok(res) => res,
        // Refusals that travel as errors (a timeout) are answered by actix
        // from their `error_response`: flatten that.
        Err(e) => return Err(Flat(e).into()),
    };
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if res.status().as_u16() < 400 || !is_json {
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("unreadable error body"))?;
    let flat = flatten(&bytes).unwrap_or_else(|| bytes.to_vec());
    Ok(ServiceResponse::new(req, head.set_body(BoxBody::new(flat))))
}

/// An error whose answer is given in the flat shape.
#[derive(Debug)]
struct Flat(Error);

impl std::fmt::Display for Flat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl actix_web::ResponseError for Flat {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.0.as_response_error().status_code()
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        let (head, body) = self.0.error_response().into_parts();
        let flat = body.try_into_bytes().ok().and_then(|bytes| flatten(&bytes));
        match flat {
            Some(flat) => head.set_body(BoxBody::new(flat)),
            None => self.0.error_response(),
        }
    }
}

fn flatten(bytes: &[u8]) -> Option<Vec<u8>> {
    let Value::Object(mut outer) = serde_json::from_slice(bytes).ok()? else {
        return None;
    };
    let Some(Value::Object(inner)) = outer.remove("error") else {
        return None;
    };
    let mut flat = serde_json::Map::new();
    for (key, value) in inner {
        let key = if key == "code" {
            "error".to_owned()
        } else {
            key
        };
        flat.insert(key, value);
    }
    serde_json::to_vec(&Value::Object(flat)).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn errors_are_flattened_with_their_details() {
        let nested =
            br#"{"error":{"code":"duration_mismatch","message":"m","voice_duration":3.0}}"#;
        let flat: serde_json::Value =
            serde_json::from_slice(&super::flatten(nested).unwrap()).unwrap();
        assert_eq!(
            flat,
            serde_json::json!({"error": "duration_mismatch", "message": "m", "voice_duration": 3.0})
        );
        assert!(super::flatten(b"[1]").is_none());
    }
}
