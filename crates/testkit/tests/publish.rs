//! Publishing: a finished language is copied to the publish folder and
//! announced to the job's webhook, signed per Standard Webhooks; a failed
//! delivery is retried with the same webhook-id.

use std::time::Duration;

use serde_json::{Value, json};
use voxline_config::Secret;
use voxline_testkit::{TestEnv, WebhookReceiver, sample_clip, spawn_system};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_finished_language_is_published_to_the_folder_and_the_webhook() -> anyhow::Result<()> {
    let receiver = WebhookReceiver::start(vec![503])?;
    let mut env = TestEnv::new().await?;
    let folder = env.path("published");
    env.settings.publish.folder = Some(folder.clone());
    env.settings.publish.webhook_secret = Secret::new(SECRET);
    let sys = spawn_system(env).await?;
    let clip = sample_clip(&sys.env.path("media"))?;
    let (_, upload) = sys.upload(&clip).await?;
    let (s, job) = sys
        .post("/v1/jobs", &json!({"kind": "subtitle", "source_upload_id": upload["id"], "target_languages": ["es"], "options": {"webhook_url": receiver.url}}))
        .await?;
    assert_eq!(s, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    let job = sys.wait_for_job(&id, Duration::from_secs(120)).await?;
    assert_eq!(job["status"], "completed", "{job:#}");
    let publish = job["tasks"][0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "publish")
        .expect("a publish stage")
        .clone();
    assert_eq!(publish["attempts"], 2, "the 503 was retried: {publish}");

    let deliveries = receiver.received();
    assert_eq!(deliveries.len(), 2);
    let (first, second) = (&deliveries[0], &deliveries[1]);
    assert_eq!(
        first.header("webhook-id"),
        second.header("webhook-id"),
        "one event, one id"
    );
    let timestamp: i64 = second.header("webhook-timestamp").unwrap().parse()?;
    let signature = second.header("webhook-signature").unwrap();
    assert!(voxline_publisher::verify_signature(
        SECRET,
        second.header("webhook-id").unwrap(),
        timestamp,
        &second.body,
        signature
    ));
    // The Standard Webhooks reference verifier, an implementation we did
    // not write, accepts the delivery as sent and refuses it tampered with.
    let verifier = standardwebhooks::Webhook::new(SECRET)?;
    let mut headers = http::HeaderMap::new();
    for (name, value) in &second.headers {
        headers.append(
            http::HeaderName::from_bytes(name.as_bytes())?,
            http::HeaderValue::from_str(value)?,
        );
    }
    verifier.verify(&second.body, &headers)?;
    let mut tampered = second.body.clone();
    tampered.push(b' ');
    assert!(verifier.verify(&tampered, &headers).is_err());
    assert!(!voxline_publisher::verify_signature(
        "whsec_b3RoZXI=",
        second.header("webhook-id").unwrap(),
        timestamp,
        &second.body,
        signature
    ));
    // The delivery log shows both attempts under the one event id.
    let (s, log) = sys.get(&format!("/v1/jobs/{id}/deliveries")).await?;
    assert_eq!(s, 200, "{log}");
    let attempts = log["deliveries"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{log}");
    assert_eq!(attempts[0]["status_code"], 503);
    assert!(
        attempts[0]["error"].as_str().unwrap().contains("503"),
        "{log}"
    );
    assert_eq!(
        (
            attempts[1]["status_code"].as_i64(),
            attempts[1]["error"].is_null()
        ),
        (Some(200), true)
    );
    assert!(
        attempts
            .iter()
            .all(|a| a["event_id"].as_str() == second.header("webhook-id"))
    );

    let body: Value = serde_json::from_slice(&second.body)?;
    assert_eq!(body["type"], "task.published");
    assert_eq!(body["data"]["job_id"], id.as_str());
    assert_eq!(body["data"]["language"], "es");
    let srt = body["data"]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "subtitles_srt")
        .expect("the subtitles are announced");
    let text = reqwest::get(srt["download_url"].as_str().unwrap())
        .await?
        .text()
        .await?;
    assert!(text.contains("-->"));

    let copied = folder.join(&id).join("es").join("subtitles.srt");
    assert_eq!(
        std::fs::read_to_string(&copied)?,
        text,
        "the folder holds the same file"
    );
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_webhook_fails_the_task_visibly_and_a_retry_resumes_it() -> anyhow::Result<()>
{
    let mut env = TestEnv::new().await?;
    env.settings.runner.max_attempts = 3;
    let sys = spawn_system(env).await?;
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let clip = sample_clip(&sys.env.path("media"))?;
    let (_, upload) = sys.upload(&clip).await?;
    let (s, job) = sys
        .post("/v1/jobs", &json!({"kind": "subtitle", "source_upload_id": upload["id"], "target_languages": ["es"], "options": {"webhook_url": format!("http://{closed}/hook")}}))
        .await?;
    assert_eq!(s, 202, "{job}");
    let job = sys
        .wait_for_job(job["id"].as_str().unwrap(), Duration::from_secs(120))
        .await?;
    assert_eq!(job["status"], "failed", "{job:#}");
    let task = &job["tasks"][0];
    assert_eq!(task["status"], "failed");
    assert_eq!(task["error"]["code"], "webhook_unreachable", "{task}");
    assert!(
        task["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&closed.to_string()),
        "{task}"
    );
    let publish = task["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "publish")
        .unwrap();
    assert_eq!(publish["status"], "failed");
    assert_eq!(publish["attempts"], 3, "{publish}");
    // What finished before the failure is kept.
    assert!(
        task["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "subtitles_srt")
    );

    // The endpoint comes up; a retry resumes from the failed stage only.
    let receiver = WebhookReceiver::start_on(closed, vec![])?;
    let id = job["id"].as_str().unwrap().to_owned();
    let (s, retried) = sys
        .post(&format!("/v1/jobs/{id}/retry"), &json!({}))
        .await?;
    assert_eq!(s, 202, "{retried}");
    assert_eq!(retried["status"], "running");
    let job = sys.wait_for_job(&id, Duration::from_secs(60)).await?;
    assert_eq!(job["status"], "completed", "{job:#}");
    assert!(job["tasks"][0]["error"].is_null());
    let stages = job["tasks"][0]["stages"].as_array().unwrap();
    let attempts = |name: &str| {
        stages.iter().find(|s| s["stage"] == name).unwrap()["attempts"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(
        (
            attempts("transcribe"),
            attempts("translate"),
            attempts("render")
        ),
        (1, 1, 1),
        "finished stages did not run again: {stages:?}"
    );
    assert_eq!(attempts("publish"), 4);
    assert_eq!(receiver.received().len(), 1);
    let (s, again) = sys
        .post(&format!("/v1/jobs/{id}/retry"), &json!({}))
        .await?;
    assert_eq!(
        (s, again["error"]["code"].as_str()),
        (409, Some("nothing_to_retry"))
    );
    sys.stop().await
}
