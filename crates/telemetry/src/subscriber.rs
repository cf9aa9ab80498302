//! The global subscriber: a log layer and an OpenTelemetry layer.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer as _};
use voxline_config::{LogFormat, Profile, Settings};

/// How long the last spans may take to leave at exit.
const SHUTDOWN: std::time::Duration = std::time::Duration::from_secs(11);

/// The process's telemetry. Dropping it (at the end of `main`) sends the
/// spans still buffered to the OTLP endpoint.
pub struct Telemetry {
    provider: SdkTracerProvider,
    exporting: bool,
}

impl Telemetry {
    /// Whether spans are exported (`OTEL_EXPORTER_OTLP_ENDPOINT` is set).
    pub fn exporting(&self) -> bool {
        self.exporting
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        // Past the exporter's own timeout (10 s by default), within the
        // termination grace of the deploy files.
        if self.exporting
            && let Err(e) = self.provider.shutdown_with_timeout(SHUTDOWN)
        {
            eprintln!("telemetry: spans not all exported at exit: {e}");
        }
    }
}

/// Installs the global subscriber and the metrics recorder for `service`
/// (the OpenTelemetry `service.name`, unless `OTEL_SERVICE_NAME` says
/// otherwise). Later calls (tests running several systems) change nothing.
///
/// Spans get trace ids even when nothing is exported, so log lines and queue
/// messages carry them either way.
#[must_use = "dropping the handle shuts tracing down: keep it until the end of main"]
pub fn init(settings: &Settings, service: &str) -> Telemetry {
    crate::metrics::install();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        .is_ok_and(|e| !e.trim().is_empty());
    let service_name = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| service.to_owned());
    let mut builder = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(service_name).build());
    let mut exporting = false;
    if endpoint {
        // The exporter reads the endpoint, headers, protocol and timeout
        // from the standard OTEL_EXPORTER_OTLP_* variables.
        match opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
        {
            Ok(exporter) => {
                builder = builder.with_batch_exporter(exporter);
                exporting = true;
            }
            Err(e) => eprintln!("telemetry: OTLP export is off: {e}"),
        }
    }
    let provider = builder.build();
    let tracer = provider.tracer("voxline");

    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(&settings.telemetry.log_filter));
    let format = settings
        .telemetry
        .log_format
        .unwrap_or(match settings.profile {
            Profile::Production => LogFormat::Json,
            _ => LogFormat::Pretty,
        });
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match format {
        // Every span's fields (job_id, trace_id, stage...) on every line.
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .boxed(),
        LogFormat::Pretty => fmt.compact().boxed(),
    };
    // The log filter filters logs only: spans are traced at `info` whatever
    // it says, so a quiet log never drops a job's trace context.
    let registry = tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(LevelFilter::INFO),
        );
    if registry.try_init().is_ok() {
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    Telemetry {
        provider,
        exporting,
    }
}
