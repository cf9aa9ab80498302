//! Webhook delivery, signed per the Standard Webhooks scheme: headers
//! `webhook-id` (stable across retries, so receivers can deduplicate),
//! `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "{id}.{timestamp}.{body}">`. Every attempt, failed or not, goes into
//! the delivery log (`GET /v1/jobs/{id}/deliveries`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use voxline_db::artifacts::Artifact;
use voxline_db::deliveries::{self, Delivery};
use voxline_worker::{StageContext, StageError};

pub async fn deliver(
    ctx: &StageContext,
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    files: &[Artifact],
) -> Result<(), StageError> {
    let mut listed = Vec::new();
    for a in files {
        listed.push(serde_json::json!({
            "kind": a.kind,
            "file_name": a.file_name,
            "content_type": a.content_type,
            "size_bytes": a.size_bytes,
            "download_url": ctx.storage.download_url(&a.object_key, &a.file_name).await?,
        }));
    }
    let id = format!("msg_{}", ctx.claimed.lease.run_id);
    let timestamp = chrono::Utc::now().timestamp();
    let body = serde_json::to_vec(&serde_json::json!({
        "type": "task.published",
        "timestamp": chrono::Utc::now().to_rfc3339(),
        "data": { "job_id": ctx.job().id, "language": ctx.language(), "artifacts": listed },
    }))?;
    let started = std::time::Instant::now();
    let sent = http
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", sign(secret, &id, timestamp, &body))
        .body(body)
        .send()
        .await;
    let (status_code, outcome) = match sent {
        Err(e) => (
            None,
            Err(StageError::transient(
                "webhook_unreachable",
                format!("{}: {}", shown(url), error_chain(&e)),
            )),
        ),
        Ok(response) => {
            let status = response.status();
            let message = format!("{} answered {status}", shown(url));
            let outcome = if status.is_success() {
                Ok(())
            } else if status.is_server_error() || matches!(status.as_u16(), 408 | 429) {
                Err(StageError::transient("webhook_failed", message))
            } else {
                Err(StageError::permanent("webhook_refused", message))
            };
            (Some(i32::from(status.as_u16())), outcome)
        }
    };
    let logged = deliveries::record(
        &ctx.db,
        &Delivery {
            job_id: ctx.job().id,
            language: ctx.language().to_owned(),
            event_id: id,
            url: shown(url),
            attempt: ctx.claimed.lease.token,
            status_code,
            error: outcome.as_ref().err().map(|e| e.message.clone()),
            duration_ms: started.elapsed().as_millis() as i64,
            at: chrono::Utc::now(),
        },
    )
    .await;
    if let Err(e) = logged {
        tracing::warn!(error = %e, "could not log a webhook delivery");
    }
    outcome
}

/// A URL as logs and errors show it: no query string (it may hold secrets).
fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => "(invalid URL)".into(),
    }
}

/// A request error with its causes (a refused redirect says why).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The `webhook-signature` header value for a message.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&key_bytes(secret)).expect("hmac takes any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Checks a received signature header (which may list several signatures).
pub fn verify_signature(secret: &str, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let expected = sign(secret, id, timestamp, body);
    header.split(' ').any(|candidate| candidate == expected)
}

/// Standard Webhooks secrets look like `whsec_<base64>`; other secrets are used as they are.
fn key_bytes(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|b64| STANDARD.decode(b64).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_detect_tampering() {
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_1",
            1_700_000_000,
            b"{}",
        );
        assert!(sig.starts_with("v1,"));
        assert!(verify_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_1",
            1_700_000_000,
            b"{}",
            &sig
        ));
        assert!(!verify_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_1",
            1_700_000_000,
            b"{ }",
            &sig
        ));
    }
}
