//! What operators see of one job, with every service its own process: one
//! trace (the gateway's request span, every stage on every worker as its
//! children, a retried stage linked to its earlier attempt), received over
//! OTLP/HTTP as a collector would, and each service's `/metrics`.

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::json;
use voxline_db::api_keys;
use voxline_testkit::WebhookReceiver;
use voxline_testkit::{Fleet, TestEnv, sample_clip};

const SERVICES: &[(&str, usize)] = &[
    ("voxline-gateway", 1),
    ("voxline-transcriber", 1),
    ("voxline-translator", 1),
    ("voxline-synthesizer", 1),
    ("voxline-renderer", 1),
    ("voxline-publisher", 1),
    ("voxline-janitor", 1),
];

/// A span as received, with the service that sent it.
struct Received {
    service: String,
    span: Span,
}

impl Received {
    fn attribute(&self, key: &str) -> Option<String> {
        text(&self.span.attributes, key)
    }
}

fn text(attributes: &[KeyValue], key: &str) -> Option<String> {
    let value = attributes.iter().find(|kv| kv.key == key)?.value.as_ref()?;
    match value.value.as_ref()? {
        AnyValue::StringValue(s) => Some(s.clone()),
        AnyValue::IntValue(i) => Some(i.to_string()),
        other => Some(format!("{other:?}")),
    }
}

fn spans_of(bodies: &[Vec<u8>]) -> anyhow::Result<Vec<Received>> {
    let mut spans = Vec::new();
    for body in bodies {
        let export = ExportTraceServiceRequest::decode(body.as_slice())?;
        for resource in export.resource_spans {
            let service = resource
                .resource
                .as_ref()
                .and_then(|r| text(&r.attributes, "service.name"))
                .unwrap_or_default();
            for scope in resource.scope_spans {
                for span in scope.spans {
                    spans.push(Received {
                        service: service.clone(),
                        span,
                    });
                }
            }
        }
    }
    Ok(spans)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_job_is_one_trace_across_every_service_and_each_reports_metrics() -> anyhow::Result<()>
{
    let collector = WebhookReceiver::start(vec![])?;
    let otlp = collector.url.trim_end_matches("/hook").to_owned();
    // The first webhook delivery fails, so the publish stage is retried.
    let webhook = WebhookReceiver::start(vec![503])?;
    let env = TestEnv::new().await?;
    let extra = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
        (
            "VOXLINE__PUBLISH__WEBHOOK_SECRET",
            "whsec_dGVzdHNlY3JldA==".to_owned(),
        ),
        ("VOXLINE__RUNNER__BACKOFF_BASE_SECONDS", "0.2".to_owned()),
        ("VOXLINE__RUNNER__BACKOFF_MAX_SECONDS", "1".to_owned()),
    ];
    let mut fleet = Fleet::start(&env, SERVICES, &extra)?;
    fleet.ready().await?;
    let http = reqwest::Client::new();
    let tenant = api_keys::ensure_tenant(&env.db, "telemetry").await?;
    let key = api_keys::create(&env.db, tenant, "test").await?.secret;

    let clip = sample_clip(&env.path("media"))?;
    let request = json!({"kind": "dub", "target_languages": ["es"],
                         "options": {"webhook_url": webhook.url}});
    let id = fleet.submit(&key, &clip, request).await?;
    let job = fleet
        .wait_for_job(&key, &id, Duration::from_secs(180))
        .await?;
    assert_eq!(job["status"], "completed", "{job:#}");

    // Every service answers its operations endpoint, and counts what it did.
    let metrics_of = |name: &str| {
        let url = format!("{}/metrics", fleet.ops_urls(name)[0]);
        let http = http.clone();
        async move { anyhow::Ok(http.get(url).send().await?.text().await?) }
    };
    for (name, _) in SERVICES {
        let ops = &fleet.ops_urls(name)[0];
        let ready = http.get(format!("{ops}/readyz")).send().await?;
        assert_eq!(ready.status(), 200, "{name} is not ready");
    }
    let gateway = metrics_of("voxline-gateway").await?;
    assert!(
        gateway.contains(
            r#"voxline_http_requests_total{method="POST",route="/v1/jobs",status="202"} 1"#
        ),
        "{gateway}"
    );
    assert!(
        gateway.contains(
            "voxline_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/jobs/{id}\""
        ),
        "{gateway}"
    );
    let renderer = metrics_of("voxline-renderer").await?;
    assert!(
        renderer.contains(
            r#"voxline_stage_duration_seconds_count{stage="render",outcome="committed"} 1"#
        ),
        "{renderer}"
    );
    let synthesizer = metrics_of("voxline-synthesizer").await?;
    assert!(
        synthesizer.contains(r#"voxline_engine_calls_total{engine="espeak-ng",outcome="ok"}"#),
        "{synthesizer}"
    );
    let publisher = metrics_of("voxline-publisher").await?;
    assert!(
        publisher.contains(r#"voxline_stage_retries_total{stage="publish","#),
        "{publisher}"
    );
    // The janitor reports the queues, once a pass: within a few passes of
    // the job's end they read empty (the last may predate its last stage).
    let empty = |metrics: &str| {
        ["transcribe", "translate", "synthesize", "render", "publish"]
            .iter()
            .all(|stage| metrics.contains(&format!("voxline_queue_depth{{stage=\"{stage}\"}} 0")))
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let janitor = metrics_of("voxline-janitor").await?;
        if empty(&janitor) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{janitor}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // SIGTERM flushes what each process still holds; then read the trace.
    fleet.terminate(Duration::from_secs(40))?;
    let bodies: Vec<Vec<u8>> = collector.received().into_iter().map(|d| d.body).collect();
    let spans = spans_of(&bodies)?;
    let request = spans
        .iter()
        .find(|s| s.span.name == "POST /v1/jobs")
        .expect("the gateway exported the creating request's span");
    assert_eq!(request.service, "voxline-gateway");
    let trace = request.span.trace_id.clone();
    let stages: Vec<&Received> = spans
        .iter()
        .filter(|s| s.span.name == "stage" && s.attribute("job_id").as_deref() == Some(id.as_str()))
        .collect();
    let by_stage: HashMap<String, Vec<&Received>> =
        stages.iter().fold(HashMap::new(), |mut m, s| {
            m.entry(s.attribute("stage").unwrap_or_default())
                .or_default()
                .push(*s);
            m
        });
    for (stage, service) in [
        ("transcribe", "voxline-transcriber"),
        ("translate", "voxline-translator"),
        ("synthesize", "voxline-synthesizer"),
        ("render", "voxline-renderer"),
        ("publish", "voxline-publisher"),
    ] {
        let attempts = by_stage
            .get(stage)
            .unwrap_or_else(|| panic!("no {stage} span"));
        for s in attempts {
            assert_eq!(s.service, service, "{stage} ran on {}", s.service);
            assert_eq!(s.span.trace_id, trace, "{stage} is in the job's trace");
            assert_eq!(
                s.span.parent_span_id, request.span.span_id,
                "{stage} is a child of the request"
            );
        }
    }
    // The retried publish: its second attempt links to the first.
    let mut publish = by_stage["publish"].clone();
    publish.sort_by_key(|s| s.attribute("attempt"));
    assert_eq!(publish.len(), 2, "one failed and one committed attempt");
    assert_eq!(publish[0].attribute("outcome").as_deref(), Some("retrying"));
    assert_eq!(
        publish[1].attribute("outcome").as_deref(),
        Some("committed")
    );
    assert!(publish[0].span.links.is_empty());
    let link = &publish[1].span.links[0];
    assert_eq!(
        (&link.trace_id, &link.span_id),
        (&trace, &publish[0].span.span_id)
    );
    Ok(())
}
