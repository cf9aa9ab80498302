//! W3C trace context (`traceparent`) between processes: put in queue
//! messages and the job's row by whoever creates work, and taken up by the
//! span of whoever runs it.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TraceId};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

const TRACEPARENT: &str = "traceparent";

/// The `traceparent` of `span` (empty when it is not traced). Starts the
/// span's OpenTelemetry side: set its parent and links before.
pub fn traceparent_of(span: &tracing::Span) -> String {
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&span.context(), &mut carrier);
    carrier.remove(TRACEPARENT).unwrap_or_default()
}

/// The `traceparent` of the current span.
pub fn current_traceparent() -> String {
    traceparent_of(&tracing::Span::current())
}

/// Makes `span` a child of the span `traceparent` names. A malformed or
/// empty value leaves it a root: the work runs all the same.
pub fn set_parent(span: &tracing::Span, traceparent: &str) {
    if let Some(cx) = context_of(traceparent) {
        let _ = span.set_parent(cx);
    }
}

/// Links `span` to the span `traceparent` names (a retry to the attempt
/// before it).
pub fn add_link(span: &tracing::Span, traceparent: &str) {
    if let Some(cx) = context_of(traceparent) {
        span.add_link(cx.span().span_context().clone());
    }
}

/// The trace id of `span` as 32 hex digits, empty when untraced. Like
/// [`traceparent_of`], it starts the span's OpenTelemetry side.
pub fn trace_id(span: &tracing::Span) -> String {
    let id = span.context().span().span_context().trace_id();
    if id == TraceId::INVALID {
        String::new()
    } else {
        id.to_string()
    }
}

fn context_of(traceparent: &str) -> Option<opentelemetry::Context> {
    if traceparent.is_empty() {
        return None;
    }
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    cx.span().span_context().is_valid().then_some(cx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_contexts_are_taken_up() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let cx = context_of(good).expect("a valid traceparent");
        assert_eq!(
            cx.span().span_context().trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert!(context_of("").is_none());
        assert!(context_of("00-zz-00f067aa0ba902b7-01").is_none());
        assert!(context_of("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none());
    }
}
