//! Every Prometheus metric Voxline exports, named and described in one
//! place, with the functions that record them. The recorder is global per
//! process; `/metrics` on the operations endpoint renders it.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Seconds, from a millisecond to an hour (stages of long media take minutes).
const SECONDS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    600.0, 1800.0, 3600.0,
];
/// US dollars of one engine's work in one stage attempt.
const DOLLARS: &[f64] = &[0.0001, 0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

/// Installs the process's recorder (once; later calls do nothing).
pub fn install() {
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_usd".into()), DOLLARS))
            .and_then(|b| b.install_recorder());
        match handle {
            Ok(handle) => {
                describe();
                // Histograms keep their samples until upkeep folds them in:
                // do it on a clock, not only when someone scrapes.
                let upkeep = handle.clone();
                let _ = std::thread::Builder::new()
                    .name("metrics-upkeep".into())
                    .spawn(move || {
                        loop {
                            std::thread::sleep(Duration::from_secs(5));
                            upkeep.run_upkeep();
                        }
                    });
                Some(handle)
            }
            // Another recorder was installed first (an embedding program).
            Err(e) => {
                eprintln!("telemetry: Prometheus metrics are off: {e}");
                None
            }
        }
    });
}

/// The metrics in Prometheus's text format.
pub fn render() -> String {
    match HANDLE.get().and_then(Option::as_ref) {
        Some(handle) => {
            handle.run_upkeep();
            handle.render()
        }
        None => String::new(),
    }
}

fn describe() {
    describe_counter!(
        "voxline_http_requests_total",
        "HTTP requests answered, by method, route and status"
    );
    describe_histogram!(
        "voxline_http_request_duration_seconds",
        "Time to answer an HTTP request, by method and route"
    );
    describe_histogram!(
        "voxline_stage_duration_seconds",
        "Time one stage attempt took, by stage and outcome"
    );
    describe_histogram!(
        "voxline_stage_wait_seconds",
        "Time a stage waited from becoming ready to being claimed, by stage"
    );
    describe_counter!(
        "voxline_stage_retries_total",
        "Stage attempts that failed and were scheduled again, by stage and error code"
    );
    describe_counter!(
        "voxline_stage_failures_total",
        "Stages that failed for good (the task failed), by stage and error code"
    );
    describe_counter!(
        "voxline_engine_calls_total",
        "Calls to engines and vendors, by engine and outcome"
    );
    describe_histogram!(
        "voxline_engine_latency_seconds",
        "Time one engine call took, by engine"
    );
    describe_histogram!(
        "voxline_engine_cost_usd",
        "Priced cost of one stage attempt's calls to an engine (the sum is the spend), by engine"
    );
    describe_counter!(
        "voxline_leases_taken_over_total",
        "Runs whose worker stopped renewing its lease, handed to another worker, by stage"
    );
    describe_gauge!(
        "voxline_queue_depth",
        "Stage runs due and waiting for a worker, by stage (PostgreSQL's count)"
    );
    describe_gauge!(
        "voxline_queue_pending_messages",
        "Stage runs on the stage's Redis queue, waiting, delayed or taken (the `:msg` hash autoscalers watch), by stage"
    );
    describe_gauge!(
        "voxline_queue_oldest_seconds",
        "Age of the oldest due stage run still waiting, by stage"
    );
    describe_gauge!(
        "voxline_queue_scheduled",
        "Stage runs queued for later (a retry's backoff, a scheduled publish), by stage"
    );
    describe_gauge!("voxline_stages_running", "Stage runs in progress, by stage");
    describe_gauge!(
        "voxline_workers_alive",
        "Workers of the stage alive: consumers seen lately or processes holding a live lease, by stage"
    );
}

/// One answered HTTP request. `route` is the matched pattern
/// (`/v1/jobs/{id}`), never the raw path, so ids do not multiply series.
pub fn http_request(method: &str, route: &str, status: u16, took: Duration) {
    let (method, route) = (known_method(method).to_owned(), route.to_owned());
    counter!("voxline_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    histogram!("voxline_http_request_duration_seconds", "method" => method, "route" => route)
        .record(took.as_secs_f64());
}

/// The request method as a label: the standard ones, `_OTHER` for any
/// other token a client sends (each would otherwise be a new series).
pub fn known_method(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "_OTHER",
    }
}

/// One stage attempt ended with `outcome` (committed, retrying, failed,
/// lease_lost, released; skipped deliveries are not counted).
pub fn stage_attempt(stage: &str, outcome: &str, took: Duration) {
    histogram!("voxline_stage_duration_seconds", "stage" => stage.to_owned(), "outcome" => outcome.to_owned())
        .record(took.as_secs_f64());
}

/// How long a stage waited from becoming ready (the previous stage's
/// commit, or the job's creation) to being claimed.
pub fn stage_wait(stage: &str, waited: Duration) {
    histogram!("voxline_stage_wait_seconds", "stage" => stage.to_owned())
        .record(waited.as_secs_f64());
}

/// A failed attempt that will run again after its backoff.
pub fn stage_retry(stage: &str, code: &str) {
    counter!("voxline_stage_retries_total", "stage" => stage.to_owned(), "code" => code.to_owned())
        .increment(1);
}

/// A failure that ended the task.
pub fn stage_failure(stage: &str, code: &str) {
    counter!("voxline_stage_failures_total", "stage" => stage.to_owned(), "code" => code.to_owned())
        .increment(1);
}

/// One engine or vendor call.
pub fn engine_call(engine: &str, ok: bool, took: Duration) {
    let outcome = if ok { "ok" } else { "error" };
    counter!("voxline_engine_calls_total", "engine" => engine.to_owned(), "outcome" => outcome)
        .increment(1);
    histogram!("voxline_engine_latency_seconds", "engine" => engine.to_owned())
        .record(took.as_secs_f64());
}

/// What one attempt's calls to `engine` cost, priced.
pub fn engine_cost(engine: &str, usd: f64) {
    histogram!("voxline_engine_cost_usd", "engine" => engine.to_owned()).record(usd);
}

/// Leases of `stage` runs that expired and were taken over.
pub fn leases_taken_over(stage: &str, n: u64) {
    counter!("voxline_leases_taken_over_total", "stage" => stage.to_owned()).increment(n);
}

/// A stage's queue as PostgreSQL holds it: runs due, the oldest due run's
/// wait, runs in a backoff or held for a time, runs in progress.
pub fn queue(stage: &str, depth: i64, oldest_seconds: f64, scheduled: i64, running: i64) {
    let s = || stage.to_owned();
    gauge!("voxline_queue_depth", "stage" => s()).set(depth as f64);
    gauge!("voxline_queue_oldest_seconds", "stage" => s()).set(oldest_seconds);
    gauge!("voxline_queue_scheduled", "stage" => s()).set(scheduled as f64);
    gauge!("voxline_stages_running", "stage" => s()).set(running as f64);
}

/// A stage's queue as Redis holds it: messages waiting, workers alive.
pub fn queue_redis(stage: &str, pending_messages: u64, workers_alive: u64) {
    let s = || stage.to_owned();
    gauge!("voxline_queue_pending_messages", "stage" => s()).set(pending_messages as f64);
    gauge!("voxline_workers_alive", "stage" => s()).set(workers_alive as f64);
}
