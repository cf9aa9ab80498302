//! The native API's contract: clear 4xx answers with `{error: {code,
//! message}}` for bad input, idempotent job creation, tenant isolation,
//! cancellation and the event stream.

use std::time::Duration;

use serde_json::{Value, json};
use voxline_testkit::{TestEnv, TestSystem, sample_clip, spawn_system};

fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["code"], want_code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.len() > 10),
        "a message a person can act on: {body}"
    );
}

async fn uploaded_clip(sys: &TestSystem) -> anyhow::Result<String> {
    let clip = sample_clip(&sys.env.path("media"))?;
    let (status, upload) = sys.upload(&clip).await?;
    assert_eq!(status, 201, "{upload}");
    Ok(upload["id"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_gets_a_clear_4xx() -> anyhow::Result<()> {
    let mut env = TestEnv::new().await?;
    env.settings.server.max_upload_bytes = 1_000_000;
    let sys = spawn_system(env).await?;
    let upload = uploaded_clip(&sys).await?;

    // Uploads: too large, not media, empty.
    let big = sys.env.path("big.bin");
    std::fs::write(&big, vec![0u8; 1_500_000])?;
    let (s, b) = sys.upload(&big).await?;
    assert_error(s, &b, 413, "upload_too_large");
    let text = sys.env.path("notes.txt");
    std::fs::write(
        &text,
        "these are not the media you are looking for\n".repeat(50),
    )?;
    let (s, b) = sys.upload(&text).await?;
    assert_error(s, &b, 422, "unsupported_media");
    let empty = sys.env.path("empty.mp4");
    std::fs::write(&empty, b"")?;
    let (s, b) = sys.upload(&empty).await?;
    assert_error(s, &b, 422, "empty_upload");

    // Jobs: languages, ids, bodies.
    let dub = |targets: Value| json!({"kind": "dub", "source_upload_id": upload, "target_languages": targets});
    let (s, b) = sys.post("/v1/jobs", &dub(json!(["xx"]))).await?;
    assert_error(s, &b, 422, "unknown_language");
    let (s, b) = sys.post("/v1/jobs", &dub(json!(["ja"]))).await?;
    assert_error(s, &b, 422, "unsupported_language");
    assert!(
        b["error"]["message"].as_str().unwrap().contains("es"),
        "names what can be served: {b}"
    );
    let (s, b) = sys.post("/v1/jobs", &dub(json!(["es", "ES"]))).await?;
    assert_error(s, &b, 422, "duplicate_language");
    let (s, b) = sys.post("/v1/jobs", &dub(json!([]))).await?;
    assert_error(s, &b, 422, "no_target_languages");
    let (s, b) = sys.post("/v1/jobs", &dub(json!(["en"]))).await?;
    assert_error(s, &b, 422, "same_language");
    let (s, b) = sys
        .post(
            "/v1/jobs",
            &json!({"kind": "dub", "source_upload_id": "../../etc", "target_languages": ["es"]}),
        )
        .await?;
    assert_error(s, &b, 422, "invalid_id");
    let (s, b) = sys.post("/v1/jobs", &json!({"kind": "dub", "source_upload_id": uuid::Uuid::new_v4(), "target_languages": ["es"]})).await?;
    assert_error(s, &b, 422, "unknown_upload");
    let (s, b) = sys
        .post(
            "/v1/jobs",
            &json!({"kind": "karaoke", "source_upload_id": upload}),
        )
        .await?;
    assert_error(s, &b, 422, "invalid_kind");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("dub, subtitle, transcribe"),
        "{b}"
    );
    let (s, b) = sys.post("/v1/jobs", &json!({"kind": "dub", "source_upload_id": upload, "target_languages": ["es"], "options": {"subtitles": "sideways"}})).await?;
    assert_error(s, &b, 422, "invalid_option");
    let (s, b) = sys
        .post(
            "/v1/jobs",
            &json!({"kind": "dub", "source_upload_id": upload, "target_languages": "es"}),
        )
        .await?;
    assert_error(s, &b, 400, "invalid_json");
    let (s, b) = sys.post("/v1/jobs", &json!({"kind": "dub", "source_upload_id": upload, "target_languages": ["es"], "colour": "red"})).await?;
    assert_error(s, &b, 400, "invalid_json");
    assert!(
        b["error"]["message"].as_str().unwrap().contains("colour"),
        "{b}"
    );
    let r = sys
        .http
        .post(sys.url("/v1/jobs"))
        .bearer_auth(&sys.api_key)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await?;
    assert_error(
        r.status().as_u16(),
        &r.json().await?,
        415,
        "unsupported_content_type",
    );
    let (s, b) = sys.post("/v1/jobs", &json!({"kind": "dub", "source_upload_id": upload, "source_language": "auto", "target_languages": ["es"]})).await?;
    assert_error(s, &b, 422, "language_detection_unavailable");

    // Reads: wrong shapes and bounds.
    let (s, b) = sys.get("/v1/jobs/not-a-uuid").await?;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = sys.get("/v1/jobs?limit=-5").await?;
    assert_error(s, &b, 400, "invalid_limit");
    let (s, b) = sys.get("/v1/jobs?limit=99999999999999999999").await?;
    assert_error(s, &b, 400, "invalid_query");
    let (s, b) = sys.get("/v1/jobs?cursor=garbage").await?;
    assert_error(s, &b, 400, "invalid_cursor");
    let (s, b) = sys.get("/v1/nothing-here").await?;
    assert_error(s, &b, 404, "not_found");

    // Auth.
    let r = sys.http.get(sys.url("/v1/jobs")).send().await?;
    assert_error(r.status().as_u16(), &r.json().await?, 401, "unauthorized");
    let r = sys
        .http
        .get(sys.url("/v1/jobs"))
        .bearer_auth("vx_0000000000000000000000000000000000000000")
        .send()
        .await?;
    assert_error(r.status().as_u16(), &r.json().await?, 401, "unauthorized");

    // Still healthy after all that.
    assert_eq!(
        sys.http
            .get(sys.url("/readyz"))
            .send()
            .await?
            .status()
            .as_u16(),
        200
    );
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creation_is_idempotent_and_tenants_are_isolated() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    let upload = uploaded_clip(&sys).await?;
    let body = json!({"kind": "transcribe", "source_upload_id": upload});
    let create = |key: &'static str, body: Value| {
        let req = sys
            .http
            .post(sys.url("/v1/jobs"))
            .bearer_auth(&sys.api_key)
            .header("idempotency-key", key)
            .json(&body);
        async move {
            let r = req.send().await?;
            anyhow::Ok((r.status().as_u16(), r.json::<Value>().await?))
        }
    };
    let (s1, first) = create("retry-me", body.clone()).await?;
    let (s2, second) = create("retry-me", body.clone()).await?;
    assert_eq!((s1, s2), (202, 200), "{first} {second}");
    assert_eq!(first["id"], second["id"]);
    let (s3, other) = create(
        "retry-me",
        json!({"kind": "subtitle", "source_upload_id": upload, "target_languages": ["es"]}),
    )
    .await?;
    assert_eq!(
        (s3, other["error"]["code"].as_str()),
        (409, Some("idempotency_key_reused")),
        "{other}"
    );
    let id = first["id"].as_str().unwrap();
    let job = sys.wait_for_job(id, Duration::from_secs(120)).await?;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["tasks"][0]["language"], "en");
    assert!(
        job["source_artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "transcript")
    );

    // Another tenant sees nothing of it, not even that it exists.
    let other_key = sys.key_for("tenant-b").await?;
    for (method, path) in [
        ("GET", format!("/v1/jobs/{id}")),
        ("POST", format!("/v1/jobs/{id}/cancel")),
        ("GET", format!("/v1/jobs/{id}/events")),
    ] {
        let r = sys
            .http
            .request(method.parse()?, sys.url(&path))
            .bearer_auth(&other_key)
            .send()
            .await?;
        assert_eq!(r.status().as_u16(), 404, "{method} {path}");
    }
    let r = sys
        .http
        .post(sys.url("/v1/jobs"))
        .bearer_auth(&other_key)
        .json(&body)
        .send()
        .await?;
    assert_eq!(
        r.json::<Value>().await?["error"]["code"],
        "unknown_upload",
        "another tenant's upload is not usable"
    );
    let r = sys
        .http
        .get(sys.url("/v1/jobs"))
        .bearer_auth(&other_key)
        .send()
        .await?;
    assert_eq!(
        r.json::<Value>().await?["jobs"].as_array().unwrap().len(),
        0
    );

    // The owner's list pages newest first.
    for i in 0..2 {
        let (s, _) = sys.post("/v1/jobs", &json!({"kind": "transcribe", "source_upload_id": upload, "options": {"subtitles": if i == 0 { "none" } else { "soft" }}})).await?;
        assert_eq!(s, 202);
    }
    let (_, page) = sys.get("/v1/jobs?limit=2").await?;
    assert_eq!(page["jobs"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let (_, rest) = sys
        .get(&format!("/v1/jobs?limit=2&cursor={cursor}"))
        .await?;
    assert_eq!(rest["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(rest["jobs"][0]["id"], id, "the oldest job comes last");
    assert!(rest["next_cursor"].is_null());
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancelled_job_stops_and_its_event_stream_ends() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    let upload = uploaded_clip(&sys).await?;
    let (s, job) = sys
        .post(
            "/v1/jobs",
            &json!({"kind": "dub", "source_upload_id": upload, "target_languages": ["es"]}),
        )
        .await?;
    assert_eq!(s, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    let (s, cancelled) = sys
        .post(&format!("/v1/jobs/{id}/cancel"), &json!({}))
        .await?;
    assert_eq!(s, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    let (s, again) = sys
        .post(&format!("/v1/jobs/{id}/cancel"), &json!({}))
        .await?;
    assert_eq!(
        (s, again["error"]["code"].as_str()),
        (409, Some("job_finished"))
    );

    // The stream replays the job's events and ends because the job has ended.
    let r = tokio::time::timeout(Duration::from_secs(20), async {
        sys.http
            .get(sys.url(&format!("/v1/jobs/{id}/events")))
            .bearer_auth(&sys.api_key)
            .send()
            .await?
            .text()
            .await
    })
    .await??;
    assert!(r.contains("event: job_created"), "{r}");
    assert!(r.contains("event: job_cancelled"), "{r}");

    // Nothing runs after the cancellation.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, job) = sys.get(&format!("/v1/jobs/{id}")).await?;
    assert_eq!(job["status"], "cancelled");
    assert!(
        job["tasks"][0]["artifacts"].as_array().unwrap().is_empty(),
        "{job}"
    );
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_describes_itself() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    let doc: Value = sys
        .http
        .get(sys.url("/openapi.json"))
        .send()
        .await?
        .json()
        .await?;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/v1/uploads",
        "/v1/jobs",
        "/v1/jobs/{id}",
        "/v1/jobs/{id}/cancel",
        "/v1/jobs/{id}/events",
        "/v1/files",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"]["JobView"].is_object());
    let page = sys.http.get(sys.url("/docs/")).send().await?;
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.text().await?.contains("swagger"),
        "the docs page is served"
    );
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tenant_over_its_in_flight_limit_is_told_to_come_back() -> anyhow::Result<()> {
    let mut env = TestEnv::new().await?;
    env.settings.server.max_jobs_in_flight = 1;
    let sys = spawn_system(env).await?;
    let upload = uploaded_clip(&sys).await?;
    let body = json!({"kind": "dub", "source_upload_id": upload, "target_languages": ["es"]});
    let send = |key: &'static str| {
        sys.http
            .post(sys.url("/v1/jobs"))
            .bearer_auth(&sys.api_key)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let first = send("first").await?;
    assert_eq!(first.status().as_u16(), 202);
    let second = send("second").await?;
    assert_eq!(second.status().as_u16(), 429);
    assert_eq!(
        second
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("10")
    );
    assert_error(429, &second.json().await?, 429, "too_many_jobs");
    // A retried request for the job already in flight is still answered.
    assert_eq!(send("first").await?.status().as_u16(), 200);
    sys.stop().await
}
