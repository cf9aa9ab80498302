//! One vendor's HTTP transport, shared by every engine of every kind: a turn
//! at the gate per request, the vendor's timeout, 429, 408 and 5xx (and no
//! answer at all) retried with backoff honouring `Retry-After`, and every
//! other refusal classified at once so the chain hands over to the next
//! engine. Bodies are read whole here, so a reply cut short is retried too.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::de::DeserializeOwned;
use voxline_config::VendorLimits;

use super::gate::VendorGate;
use crate::ProviderError;

pub(crate) struct VendorHttp {
    /// The vendor's configured name, which engines and usage rows carry.
    pub vendor: String,
    pub client: reqwest::Client,
    limits: VendorLimits,
    gate: Arc<dyn VendorGate>,
}

/// A successful reply, body and all.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

enum Attempt {
    Done(Reply),
    Refused(ProviderError),
    Retry {
        why: String,
        retry_after: Option<Duration>,
        /// Whether the vendor may have acted on the request before failing
        /// (a timeout, a 500); not after a refused connection, a 429 or a 503.
        maybe_done: bool,
    },
}

impl VendorHttp {
    pub fn new(vendor: &str, limits: &VendorLimits, gate: Arc<dyn VendorGate>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(limits.timeout_seconds))
            .connect_timeout(Duration::from_secs(limits.timeout_seconds.min(10)))
            .user_agent(concat!("voxline/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a reqwest client with timeouts builds");
        Self {
            vendor: vendor.to_owned(),
            client,
            limits: limits.clone(),
            gate,
        }
    }

    /// Sends the request `build` makes (once per try, so bodies that cannot
    /// be cloned are rebuilt) until the vendor answers 2xx, refuses for good,
    /// or the retries run out.
    pub async fn send<F, Fut>(&self, build: F) -> Result<Reply, ProviderError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<reqwest::Request, ProviderError>>,
    {
        self.send_with(build, true).await
    }

    /// Like `send`, for a request that must not take effect twice: it is
    /// repeated only when the vendor cannot have acted on it (the connection
    /// was refused, a 429 or a 503). When the outcome is unknown, the error is
    /// `Uncertain` and the caller must not send it again.
    pub async fn send_once<F, Fut>(&self, build: F) -> Result<Reply, ProviderError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<reqwest::Request, ProviderError>>,
    {
        self.send_with(build, false).await
    }

    async fn send_with<F, Fut>(&self, build: F, replayable: bool) -> Result<Reply, ProviderError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<reqwest::Request, ProviderError>>,
    {
        let mut failures = 0u32;
        loop {
            let request = build().await?;
            let turn = self.gate.enter(&self.vendor, &self.limits).await?;
            let attempt = self.attempt(request).await;
            drop(turn);
            let (why, retry_after) = match attempt {
                Attempt::Done(reply) => return Ok(reply),
                Attempt::Refused(e) => return Err(e),
                Attempt::Retry {
                    why, maybe_done, ..
                } if maybe_done && !replayable => {
                    return Err(ProviderError::Uncertain {
                        engine: self.vendor.clone(),
                        message: why,
                    });
                }
                Attempt::Retry {
                    why, retry_after, ..
                } => (why, retry_after),
            };
            failures += 1;
            if failures > self.limits.max_retries {
                return Err(self.unavailable(format!("{why} (gave up after {failures} tries)")));
            }
            let most = Duration::from_secs(self.limits.max_retry_wait_seconds);
            let wait = match retry_after {
                Some(asked) if asked > most => {
                    return Err(self.unavailable(format!(
                        "{why}; it asks to wait {} s, longer than limits.max_retry_wait_seconds ({} s), so the stage will be retried later",
                        asked.as_secs(),
                        most.as_secs()
                    )));
                }
                Some(asked) => asked,
                None => backoff(failures, most),
            };
            tracing::warn!(vendor = %self.vendor, %why, wait_ms = wait.as_millis() as u64, try_number = failures + 1, "retrying a vendor request");
            tokio::time::sleep(wait).await;
        }
    }

    /// Reads a reply as `T`; a reply that does not parse is the engine's
    /// failure, so the next engine in the chain gets its chance.
    pub fn json<T: DeserializeOwned>(&self, reply: &Reply) -> Result<T, ProviderError> {
        serde_json::from_slice(&reply.body).map_err(|e| self.malformed(e))
    }

    pub fn malformed(&self, e: impl std::fmt::Display) -> ProviderError {
        ProviderError::Engine {
            engine: self.vendor.clone(),
            message: format!("sent a reply Voxline cannot read: {e}"),
        }
    }

    fn unavailable(&self, message: String) -> ProviderError {
        ProviderError::Unavailable {
            engine: self.vendor.clone(),
            message,
        }
    }

    async fn attempt(&self, request: reqwest::Request) -> Attempt {
        let response = match self.client.execute(request).await {
            Ok(r) => r,
            Err(e) => return retry(self.transport_failure(&e), None, !e.is_connect()),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return retry(
                    format!(
                        "its reply ({status}) was cut off: {}",
                        self.transport_failure(&e)
                    ),
                    None,
                    true,
                );
            }
        };
        if status.is_success() {
            return Attempt::Done(Reply {
                status,
                headers,
                body,
            });
        }
        let said = vendor_message(&body);
        if status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
            || status.is_server_error()
        {
            // 429 and 503 say the request was turned away; after a 500 or a
            // gateway's 502 or 504 it may have been acted on.
            let maybe_done = !matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            );
            return retry(
                format!("answered {status}: {said}"),
                retry_after(&headers),
                maybe_done,
            );
        }
        let message = if matches!(status.as_u16(), 401 | 403) {
            format!("refused the API key ({status}): {said}")
        } else {
            format!("refused the request ({status}): {said}")
        };
        Attempt::Refused(ProviderError::Engine {
            engine: self.vendor.clone(),
            message,
        })
    }

    fn transport_failure(&self, e: &reqwest::Error) -> String {
        if e.is_timeout() {
            format!(
                "did not answer within limits.timeout_seconds ({} s)",
                self.limits.timeout_seconds
            )
        } else if e.is_connect() {
            format!("cannot be reached: {}", root_cause(e))
        } else {
            root_cause(e)
        }
    }
}

fn retry(why: String, retry_after: Option<Duration>, maybe_done: bool) -> Attempt {
    Attempt::Retry {
        why,
        retry_after,
        maybe_done,
    }
}

/// Exponential from half a second, capped, with jitter over its upper half.
fn backoff(failures: u32, most: Duration) -> Duration {
    let exp = 0.5 * 2f64.powi(failures.saturating_sub(1).min(16) as i32);
    let capped = exp.min(most.as_secs_f64()).max(0.01);
    Duration::from_secs_f64(rand::rng().random_range(capped / 2.0..=capped))
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// What a vendor said in an error body, whichever vendor's shape it has
/// (`{"error":{"message"}}`, `{"detail":{"message"}}`, `{"err_msg"}`,
/// plain text), kept short.
fn vendor_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let said = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            [
                "/error/message",
                "/detail/message",
                "/err_msg",
                "/message",
                "/detail",
                "/error",
            ]
            .iter()
            .find_map(|p| v.pointer(p).and_then(|m| m.as_str()).map(str::to_owned))
        })
        .unwrap_or_else(|| text.trim().to_owned());
    let said: String = said.chars().take(300).collect();
    if said.is_empty() {
        "no reason given".into()
    } else {
        said
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        let later = chrono::Utc::now() + chrono::Duration::seconds(90);
        h.insert(RETRY_AFTER, later.to_rfc2822().parse().unwrap());
        let wait = retry_after(&h).unwrap().as_secs();
        assert!((85..=90).contains(&wait), "{wait}");
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, "99999999999999999999999".parse().unwrap());
        assert_eq!(retry_after(&h), None, "absurd, and no panic");
        h.insert(RETRY_AFTER, "-3".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn vendor_messages_come_from_any_shape() {
        assert_eq!(
            vendor_message(br#"{"error":{"message":"bad key","type":"x"}}"#),
            "bad key"
        );
        assert_eq!(
            vendor_message(br#"{"detail":{"status":"x","message":"voice not found"}}"#),
            "voice not found"
        );
        assert_eq!(vendor_message(br#"{"err_msg":"no audio"}"#), "no audio");
        assert_eq!(vendor_message(b"Bad Gateway"), "Bad Gateway");
        assert_eq!(vendor_message(b""), "no reason given");
    }
}
