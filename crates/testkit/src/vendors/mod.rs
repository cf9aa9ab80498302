//! Local fake vendors (wiremock) that check each request against what the
//! vendor documents (paths, auth headers, multipart fields, JSON bodies),
//! answer in the vendor's shape, and play scripted faults: statuses with or
//! without `Retry-After`, slow answers, malformed bodies, lost or merged
//! translation lines. A request that breaks the vendor's contract is
//! answered 400, as the vendor would, and kept in `problems()`.

pub mod deepgram;
pub mod elevenlabs;
mod multipart;
pub mod openai;
pub mod postiz;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use deepgram::FakeDeepgram;
pub use elevenlabs::FakeElevenLabs;
pub use openai::FakeOpenAi;
pub use postiz::FakePostiz;
use serde_json::{Value, json};
use wiremock::{Request, ResponseTemplate};

/// One scripted misbehaviour, played on the next request that reaches the
/// fake (whichever endpoint).
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status and the vendor's error body.
    Status(u16),
    /// 429 (or another status) with this `Retry-After` value.
    RetryAfter(u16, &'static str),
    /// Answer correctly, but only after this long.
    Slow(Duration),
    /// 200 with a body cut off mid-JSON.
    Malformed,
    /// 200 with well-formed JSON of another shape than the vendor's.
    WrongShape,
    /// A chat translation that leaves out its last line.
    LoseLine,
    /// A chat translation that merges its first two lines into one.
    MergeLines,
}

/// One request the fake saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub at: Instant,
    pub body: Value,
}

/// A fault with the path suffix it waits for (any path when `None`).
type Queued = (Option<&'static str>, Fault);

/// Faults to play and requests seen, shared by a fake's endpoints.
#[derive(Clone, Default)]
pub struct Script {
    faults: Arc<Mutex<VecDeque<Queued>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    problems: Arc<Mutex<Vec<String>>>,
}

impl Script {
    /// Plays `fault` on the next request, after those already queued.
    pub fn push(&self, fault: Fault) {
        self.faults.lock().unwrap().push_back((None, fault));
    }

    /// Plays `fault` on the next request to a path ending in `suffix`.
    pub fn push_for(&self, suffix: &'static str, fault: Fault) {
        self.faults.lock().unwrap().push_back((Some(suffix), fault));
    }

    /// Plays `fault` on each of the next `n` requests.
    pub fn push_n(&self, n: usize, fault: Fault) {
        for _ in 0..n {
            self.push(fault.clone());
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Requests to paths ending in `suffix`.
    pub fn count(&self, suffix: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.path.ends_with(suffix))
            .count()
    }

    /// Requests that broke the vendor's documented contract.
    pub fn problems(&self) -> Vec<String> {
        self.problems.lock().unwrap().clone()
    }

    /// Checks `req`, notes it, then plays the next fault or `answer`s it.
    /// `error` shapes an error body the vendor's way.
    fn serve(
        &self,
        req: &Request,
        check: impl FnOnce(&Request) -> Result<Value, String>,
        answer: impl FnOnce(&Value, Option<&Fault>) -> ResponseTemplate,
        error: fn(&str) -> Value,
    ) -> ResponseTemplate {
        let path = req.url.path().to_owned();
        let body = match check(req) {
            Ok(body) => body,
            Err(problem) => {
                self.problems
                    .lock()
                    .unwrap()
                    .push(format!("{path}: {problem}"));
                return ResponseTemplate::new(400).set_body_json(error(&problem));
            }
        };
        self.seen.lock().unwrap().push(Seen {
            path: path.clone(),
            at: Instant::now(),
            body: body.clone(),
        });
        let fault = {
            let mut faults = self.faults.lock().unwrap();
            let at = faults
                .iter()
                .position(|(suffix, _)| suffix.is_none_or(|s| path.ends_with(s)));
            at.and_then(|i| faults.remove(i)).map(|(_, f)| f)
        };
        match fault {
            Some(Fault::Status(status)) => ResponseTemplate::new(status)
                .set_body_json(error(&format!("scripted failure {status}"))),
            Some(Fault::RetryAfter(status, after)) => ResponseTemplate::new(status)
                .insert_header("retry-after", after)
                .set_body_json(error("rate limit reached, slow down")),
            Some(Fault::Slow(delay)) => answer(&body, None).set_delay(delay),
            Some(Fault::Malformed) => ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string("{\"results\": [unfinished"),
            Some(Fault::WrongShape) => ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_json(serde_json::json!({"status": "ok", "data": []})),
            other => answer(&body, other.as_ref()),
        }
    }
}

/// A header's value, or why it is missing.
fn header<'r>(req: &'r Request, name: &str) -> Result<&'r str, String> {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("header `{name}` is missing"))
}

fn json_body(req: &Request) -> Result<Value, String> {
    if !header(req, "content-type")?.starts_with("application/json") {
        return Err("content-type must be application/json".into());
    }
    serde_json::from_slice(&req.body).map_err(|e| format!("body is not JSON: {e}"))
}

fn query(req: &Request, key: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn text_field<'v>(body: &'v Value, key: &str) -> Result<&'v str, String> {
    body[key]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("`{key}` must be a non-empty string"))
}

/// Audio the fakes answer with: a second of tone, encoded by ffmpeg as
/// `format` (`mp3`, `wav`).
pub fn tone(format: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join(format!("tone.{format}"));
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=330:duration=1",
        ])
        .args(["-ac", "1", "-ar", "24000"])
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made no tone");
    std::fs::read(out).expect("tone written")
}

/// An OpenAI-style error body.
fn openai_error(message: &str) -> Value {
    json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})
}
