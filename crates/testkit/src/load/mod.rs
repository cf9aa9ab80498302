//! What the load test (`tests/load.rs`) measures with: each operation's
//! outcomes (answered, refused with `Retry-After`, errors) and latencies,
//! a call that waits out 429s, calls for every job at once, the
//! event-stream follower, and what /proc tells of the gateway's process.

mod process;
mod sse;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::stats::latency_cells;

pub use process::{RssSampler, ensure_open_files, open_fds, own_and_children_cpu};
pub use sse::{END, FIRST, Gauges, JOB_ENDS, OPEN, SseEvent, SseParser, StreamEnd, follow};

/// How one call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer, or another the operation expects (a 409 to the
    /// cancellation of a job that has already ended).
    Answered,
    /// A 429 with `Retry-After`: the client waits and tries again.
    Refused,
    /// A 5xx: a bug, whatever the load.
    ServerError,
    /// Any other answer, or none (a transport error).
    Error,
}

#[derive(Default)]
struct OpStats {
    answered: usize,
    refused: usize,
    server_errors: usize,
    errors: usize,
    /// Latencies of the calls answered (refusals and errors left out).
    samples: Vec<Duration>,
    /// The first few failures, for the report.
    examples: Vec<String>,
}

/// Outcomes and latencies per operation, shared by every client task.
#[derive(Clone, Default)]
pub struct Recorder {
    ops: Arc<Mutex<Vec<(&'static str, OpStats)>>>,
}

impl Recorder {
    pub fn record(&self, op: &'static str, outcome: Outcome, took: Duration, note: &str) {
        let mut ops = self.ops.lock().expect("recorder lock");
        let i = match ops.iter().position(|(name, _)| *name == op) {
            Some(i) => i,
            None => {
                ops.push((op, OpStats::default()));
                ops.len() - 1
            }
        };
        let s = &mut ops[i].1;
        match outcome {
            Outcome::Answered => {
                s.answered += 1;
                s.samples.push(took);
            }
            Outcome::Refused => s.refused += 1,
            Outcome::ServerError => s.server_errors += 1,
            Outcome::Error => s.errors += 1,
        }
        if matches!(outcome, Outcome::ServerError | Outcome::Error) && s.examples.len() < 5 {
            s.examples.push(note.to_owned());
        }
    }

    /// An operation's calls: (answered, refused, 5xx, other errors).
    pub fn counts(&self, op: &str) -> (usize, usize, usize, usize) {
        let ops = self.ops.lock().expect("recorder lock");
        ops.iter()
            .find(|(name, _)| *name == op)
            .map_or((0, 0, 0, 0), |(_, s)| {
                (s.answered, s.refused, s.server_errors, s.errors)
            })
    }

    /// The operations with failed calls (5xx, other answers, transport
    /// errors), each with examples.
    pub fn failures(&self) -> Vec<String> {
        let ops = self.ops.lock().expect("recorder lock");
        ops.iter()
            .filter(|(_, s)| s.server_errors + s.errors > 0)
            .map(|(op, s)| {
                format!(
                    "{op}: {} 5xx, {} other errors, e.g. {:?}",
                    s.server_errors, s.errors, s.examples
                )
            })
            .collect()
    }

    /// A Markdown table: one row per operation, in the order first seen.
    pub fn table(&self) -> String {
        let ops = self.ops.lock().expect("recorder lock");
        let mut out = String::from(
            "| operation | count | refused (429) | errors | of them 5xx | p50 ms | p95 ms | p99 ms | max ms |\n\
             |---|---|---|---|---|---|---|---|---|\n",
        );
        for (op, s) in ops.iter() {
            let count = s.answered + s.refused + s.server_errors + s.errors;
            out.push_str(&format!(
                "| {op} | {count} | {} | {} | {} | {} |\n",
                s.refused,
                s.server_errors + s.errors,
                s.server_errors,
                latency_cells(&s.samples)
            ));
        }
        out
    }
}

/// The outcome of an answer's status: 2xx answered, 429 refused, 5xx a
/// server error, anything else an error.
pub fn outcome_of(status: StatusCode) -> Outcome {
    if status.is_success() {
        Outcome::Answered
    } else if status == StatusCode::TOO_MANY_REQUESTS {
        Outcome::Refused
    } else if status.is_server_error() {
        Outcome::ServerError
    } else {
        Outcome::Error
    }
}

/// How long a 429 asks the client to wait (`Retry-After`, in seconds).
pub fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

/// Sends a call until it is answered other than 429 (waiting as
/// `Retry-After` says, up to 20 tries), recording each try under `op`;
/// statuses in `expected` count as answered. The last status and JSON
/// body, or none after a transport error.
pub async fn call(
    rec: &Recorder,
    op: &'static str,
    expected: &[StatusCode],
    request: impl Fn() -> reqwest::RequestBuilder,
) -> Option<(StatusCode, Value)> {
    for _ in 0..20 {
        let started = Instant::now();
        let response = match request().send().await {
            Ok(r) => r,
            Err(e) => {
                rec.record(op, Outcome::Error, started.elapsed(), &e.to_string());
                return None;
            }
        };
        let status = response.status();
        let wait = retry_after(&response);
        let body: Value = match response.json().await {
            Ok(body) => body,
            Err(e) => {
                let note = format!("{status}, not JSON: {e}");
                rec.record(op, Outcome::Error, started.elapsed(), &note);
                return None;
            }
        };
        let outcome = if expected.contains(&status) {
            Outcome::Answered
        } else {
            outcome_of(status)
        };
        rec.record(op, outcome, started.elapsed(), &format!("{status} {body}"));
        if outcome != Outcome::Refused {
            return Some((status, body));
        }
        let wait = wait.unwrap_or(Duration::from_secs(1));
        tokio::time::sleep(wait.min(Duration::from_secs(60))).await;
    }
    None
}

/// Runs `f` for every job at once, a task each, with a shared `context`;
/// the answers by job id. Jobs are (client index, id).
pub async fn at_once<C, T, F, Fut>(
    context: &Arc<C>,
    jobs: &[(usize, String)],
    f: F,
) -> anyhow::Result<HashMap<String, T>>
where
    F: Fn(Arc<C>, usize, String) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = jobs
        .iter()
        .map(|(i, id)| (id.clone(), tokio::spawn(f(context.clone(), *i, id.clone()))))
        .collect();
    let mut answers = HashMap::new();
    for (id, task) in tasks {
        answers.insert(id, task.await?);
    }
    Ok(answers)
}

/// Waits until `done` holds, checking every 50 ms, or fails after `limit`.
pub async fn until(limit: Duration, what: &str, done: impl Fn() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while !done() {
        anyhow::ensure!(Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_counts_refusals_apart_from_errors() {
        let r = Recorder::default();
        r.record("upload", Outcome::Answered, Duration::from_millis(10), "");
        r.record("upload", Outcome::Refused, Duration::from_millis(1), "");
        r.record(
            "upload",
            Outcome::ServerError,
            Duration::from_millis(1),
            "503",
        );
        assert_eq!(r.counts("upload"), (1, 1, 1, 0));
        assert!(r.table().contains("| upload | 3 | 1 | 1 | 1 | 10.0 |"));
        assert_eq!(r.failures().len(), 1);
    }

    #[test]
    fn statuses_are_told_apart() {
        assert_eq!(outcome_of(StatusCode::ACCEPTED), Outcome::Answered);
        assert_eq!(outcome_of(StatusCode::TOO_MANY_REQUESTS), Outcome::Refused);
        assert_eq!(outcome_of(StatusCode::BAD_GATEWAY), Outcome::ServerError);
        assert_eq!(outcome_of(StatusCode::CONFLICT), Outcome::Error);
    }
}
