//! Following a job's Server-Sent Events stream to its end, as a client of
//! the load test: when its answer came, its first event, every event's
//! kind, and whether it closed with the job's end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Outcome, Recorder, outcome_of};

/// The operations a stream records.
pub const OPEN: &str = "open event stream (to headers)";
pub const FIRST: &str = "first event on a stream";
pub const END: &str = "stream end after its job ended";

/// The events a job's stream closes after.
pub const JOB_ENDS: [&str; 3] = ["job_completed", "job_cancelled", "job_failed"];

/// One Server-Sent Event: its `event:` name and its `data:` lines.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

/// Splits a stream's bytes into events as they arrive (comments such as
/// keep-alives are skipped).
#[derive(Default)]
pub struct SseParser {
    buffer: String,
}

impl SseParser {
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buffer.push_str(&String::from_utf8_lossy(chunk));
        let mut events = Vec::new();
        while let Some(end) = self.buffer.find("\n\n") {
            let block: String = self.buffer.drain(..end + 2).collect();
            let (mut event, mut data) = (String::new(), Vec::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.trim_start().to_owned());
                }
            }
            if !event.is_empty() || !data.is_empty() {
                if event.is_empty() {
                    event = "message".into();
                }
                events.push(SseEvent {
                    event,
                    data: data.join("\n"),
                });
            }
        }
        events
    }

    /// Bytes received after the last complete event.
    pub fn rest(&self) -> &str {
        &self.buffer
    }
}

/// Counts shared by every stream of a run.
#[derive(Default)]
pub struct Gauges {
    /// Streams that received their first event, or failed before it.
    pub established: AtomicUsize,
    /// Streams answered and not yet ended.
    pub open: AtomicUsize,
    /// The most streams open at once.
    pub most_open: AtomicUsize,
}

/// How one event stream went.
pub struct StreamEnd {
    pub job: String,
    /// The kinds of the events received, in order.
    pub kinds: Vec<String>,
    /// What went wrong: no answer, an error event, no job end, a broken
    /// connection.
    pub problem: Option<String>,
}

/// Follows the stream `request` opens, for job `job`, to its end.
pub async fn follow(
    request: reqwest::RequestBuilder,
    job: String,
    rec: &Recorder,
    gauges: &Gauges,
) -> StreamEnd {
    let mut end = StreamEnd {
        job,
        kinds: vec![],
        problem: None,
    };
    let mut established = false;
    let establish = |done: &mut bool| {
        if !std::mem::replace(done, true) {
            gauges.established.fetch_add(1, Ordering::SeqCst);
        }
    };
    let started = Instant::now();
    let mut response = match request.send().await {
        Ok(r) if r.status().is_success() => {
            rec.record(OPEN, Outcome::Answered, started.elapsed(), "");
            r
        }
        Ok(r) => {
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            rec.record(OPEN, outcome_of(status), started.elapsed(), &text);
            end.problem = Some(format!("answered {status}: {text}"));
            establish(&mut established);
            return end;
        }
        Err(e) => {
            rec.record(OPEN, Outcome::Error, started.elapsed(), &e.to_string());
            end.problem = Some(e.to_string());
            establish(&mut established);
            return end;
        }
    };
    let now_open = gauges.open.fetch_add(1, Ordering::SeqCst) + 1;
    gauges.most_open.fetch_max(now_open, Ordering::SeqCst);
    let mut parser = SseParser::default();
    // The job's end; events may follow it in the same batch (the usage
    // of an attempt its cancellation interrupted).
    let mut end_data = None;
    loop {
        match response.chunk().await {
            Ok(Some(bytes)) => {
                for event in parser.push(&bytes) {
                    if !established {
                        rec.record(FIRST, Outcome::Answered, started.elapsed(), "");
                        establish(&mut established);
                    }
                    if event.event == "error" {
                        end.problem = Some(format!("an error event: {}", event.data));
                    }
                    if JOB_ENDS.contains(&event.event.as_str()) {
                        end_data = Some(serde_json::from_str(&event.data).unwrap_or(Value::Null));
                    }
                    end.kinds.push(event.event);
                }
            }
            Ok(None) => break,
            Err(e) => {
                end.problem = Some(format!("the stream broke: {e}"));
                break;
            }
        }
    }
    gauges.open.fetch_sub(1, Ordering::SeqCst);
    if !established {
        rec.record(FIRST, Outcome::Error, started.elapsed(), "no event at all");
        establish(&mut established);
    }
    if let Some(end_data) = end_data {
        // How long after the job's end (the event's time in PostgreSQL, on
        // this machine's clock) the stream closed.
        let lag = end_data["at"]
            .as_str()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .and_then(|at| (chrono::Utc::now() - at.to_utc()).to_std().ok())
            .unwrap_or_default();
        rec.record(END, Outcome::Answered, lag, "");
    } else {
        let last = end.kinds.last().map_or("", String::as_str);
        let why = format!(
            "closed without the job's end, after {last:?}, with {:?} unread",
            parser.rest()
        );
        rec.record(END, Outcome::Error, Duration::ZERO, &why);
        end.problem.get_or_insert(why);
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_are_joined_and_comments_skipped() {
        let mut p = SseParser::default();
        assert!(p.push(b": keep-alive\n\nid: 1\nevent: job_cr").is_empty());
        let events = p.push(b"eated\ndata: {\"a\":1}\n\nid: 2\n");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, "job_created");
        assert_eq!(events[0].data, "{\"a\":1}");
        assert_eq!(p.rest(), "id: 2\n");
    }
}
