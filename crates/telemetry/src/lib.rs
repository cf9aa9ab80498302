//! Logging setup shared by every binary: readable lines for people, JSON
//! for collectors, filtered by `telemetry.log_filter` (or `RUST_LOG`).

use tracing_subscriber::EnvFilter;
use voxline_config::{LogFormat, TelemetrySettings};

/// Installs the global subscriber; later calls (tests) are ignored.
pub fn init(settings: &TelemetrySettings) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}
