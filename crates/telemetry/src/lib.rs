//! What every binary shares to be observable: its log lines (readable for
//! people, JSON for collectors, with job and trace ids), its spans (one
//! trace per job, carried across the queue as W3C trace context, exported
//! over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set), its Prometheus
//! metrics, and the operations endpoint that serves `/healthz`, `/readyz`
//! and `/metrics`.

pub mod metrics;
pub mod ops;
mod subscriber;
pub mod trace_context;

pub use subscriber::{Telemetry, init};
