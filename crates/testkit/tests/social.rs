//! Social publishing through Postiz (a local fake that checks the
//! documented requests): each language's video is uploaded and posted to
//! the channels asked for, with each platform's settings; a scheduled job
//! waits for `publish_at` and the janitor releases it on time; a post whose
//! answer was lost is never sent twice; bad options are refused with 422.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use voxline_config::{PostizSettings, Secret, VendorLimits, VendorSettings};
use voxline_testkit::vendors::{FakePostiz, Fault};
use voxline_testkit::{TestEnv, TestSystem, sample_clip_saying, spawn_system};

async fn system_with(postiz: &FakePostiz) -> anyhow::Result<TestSystem> {
    let mut env = TestEnv::new().await?;
    env.settings.vendors.insert(
        "postiz".into(),
        VendorSettings::Postiz(PostizSettings {
            base_url: postiz.base_url(),
            api_key: Secret::new(voxline_testkit::vendors::postiz::KEY),
            limits: VendorLimits {
                timeout_seconds: 3,
                max_retries: 1,
                max_retry_wait_seconds: 2,
                ..Default::default()
            },
        }),
    );
    env.settings.runner.max_attempts = 2;
    spawn_system(env).await
}

async fn dub_job(sys: &TestSystem, options: Value) -> anyhow::Result<(u16, Value)> {
    let clip = sample_clip_saying(&sys.env.path("media"), Some("Hello there."))?;
    let (_, upload) = sys.upload(&clip).await?;
    sys.post(
        "/v1/jobs",
        &json!({"kind": "dub", "source_upload_id": upload["id"], "target_languages": ["es"], "options": options}),
    )
    .await
}

fn publish_stage(job: &Value) -> Value {
    job["tasks"][0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "publish")
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_language_is_posted_to_its_channels_with_their_settings() -> anyhow::Result<()> {
    let postiz = FakePostiz::start().await;
    let sys = system_with(&postiz).await?;
    let (s, job) = dub_job(
        &sys,
        json!({"social": {"channels": ["youtube", "x"], "caption": "Now in {language}!",
                          "settings": {"youtube": {"type": "unlisted"}}}}),
    )
    .await?;
    assert_eq!(s, 202, "{job}");
    let done = sys
        .wait_for_job(job["id"].as_str().unwrap(), Duration::from_secs(120))
        .await?;
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(postiz.script.problems(), Vec::<String>::new());
    assert_eq!(postiz.media.lock().unwrap().len(), 1, "one upload");
    let posts = postiz.posts();
    assert_eq!(posts.len(), 1, "one post request");
    let each = posts[0]["posts"].as_array().unwrap();
    let ids: Vec<&str> = each
        .iter()
        .map(|p| p["integration"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["yt-1", "x-1"]);
    assert_eq!(each[0]["value"][0]["content"], "Now in Spanish!");
    assert_eq!(each[0]["settings"]["type"], "unlisted");
    assert_eq!(each[0]["settings"]["title"], "Now in Spanish!");
    assert_eq!(each[1]["settings"]["who_can_reply_post"], "everyone");
    assert_eq!(posts[0]["type"], "now");
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scheduled_job_publishes_when_its_time_comes() -> anyhow::Result<()> {
    let postiz = FakePostiz::start().await;
    let sys = system_with(&postiz).await?;
    // An hour ahead, so however slowly the dub runs it waits; the test then
    // brings the time forward in PostgreSQL, where the wait is kept.
    let at = chrono::Utc::now() + chrono::Duration::hours(1);
    let (s, job) = dub_job(
        &sys,
        json!({"social": {"channels": ["tiktok"]}, "publish_at": at.to_rfc3339()}),
    )
    .await?;
    assert_eq!(s, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    // The dub finishes, then waits: the task says when it will publish.
    let started_waiting = std::time::Instant::now();
    let waiting = loop {
        let (_, j) = sys.get(&format!("/v1/jobs/{id}")).await?;
        let message = j["tasks"][0]["message"].as_str().unwrap_or("").to_owned();
        if message.starts_with("publishing at") {
            break j;
        }
        assert!(
            started_waiting.elapsed() < Duration::from_secs(120),
            "the dub did not finish: {j:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(waiting["status"], "running", "{waiting:#}");
    // What is to be published outlives the wait.
    for a in waiting["tasks"][0]["artifacts"].as_array().unwrap() {
        let expires: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(a["expires_at"].clone())?;
        assert!(expires > at + chrono::Duration::hours(1), "{a}");
    }
    // Several janitor passes (one a second here) leave it waiting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, j) = sys.get(&format!("/v1/jobs/{id}")).await?;
    assert_eq!(j["status"], "running", "{j:#}");
    assert_eq!(postiz.posts().len(), 0);

    let due = chrono::Utc::now();
    let moved = sys
        .env
        .db
        .client()
        .await?
        .execute(
            "UPDATE stage_runs SET run_after = $2
             WHERE job_id = $1::text::uuid AND stage = 'publish' AND status = 'queued'",
            &[&id, &due],
        )
        .await?;
    assert_eq!(moved, 1, "one held publish run");
    let done = sys.wait_for_job(&id, Duration::from_secs(90)).await?;
    assert_eq!(done["status"], "completed", "{done:#}");
    let started: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(publish_stage(&done)["started_at"].clone())?;
    assert!(started >= due, "published at {started}, due at {due}");
    assert!(
        started < due + chrono::Duration::seconds(10),
        "on time: {started} for {due}"
    );
    let posts = postiz.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0]["posts"][0]["settings"]["privacy_level"],
        "PUBLIC_TO_EVERYONE"
    );
    assert_eq!(postiz.script.problems(), Vec::<String>::new());
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_post_whose_answer_is_lost_is_never_sent_twice() -> anyhow::Result<()> {
    let postiz = FakePostiz::start().await;
    let sys = system_with(&postiz).await?;
    // Postiz takes the post but answers after the 3 s timeout.
    postiz
        .script
        .push_for("/posts", Fault::Slow(Duration::from_secs(5)));
    let (s, job) = dub_job(&sys, json!({"social": {"channels": ["x"]}})).await?;
    assert_eq!(s, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    let failed = sys.wait_for_job(&id, Duration::from_secs(120)).await?;
    assert_eq!(failed["status"], "failed", "{failed:#}");
    let error = &publish_stage(&failed)["error"];
    assert_eq!(error["code"], "social_post_unconfirmed", "{failed:#}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("not sent again")
    );
    assert_eq!(postiz.posts().len(), 1, "no automatic second post");

    // Retrying finishes the job without posting again, and says why.
    let (s, b) = sys
        .post(&format!("/v1/jobs/{id}/retry"), &json!({}))
        .await?;
    assert_eq!(s, 202, "{b}");
    let done = sys.wait_for_job(&id, Duration::from_secs(120)).await?;
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(postiz.posts().len(), 1, "still one post");
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_lost_mid_post_is_reported_and_an_odd_answer_still_counts() -> anyhow::Result<()> {
    let postiz = FakePostiz::start().await;
    let sys = system_with(&postiz).await?;
    // An attempt claimed the post an hour ago and died before Postiz
    // answered.
    let (_, job) = dub_job(&sys, json!({"social": {"channels": ["x"]}})).await?;
    let id = job["id"].as_str().unwrap().to_owned();
    sys.env
        .db
        .client()
        .await?
        .execute(
            "INSERT INTO social_posts (job_id, language, vendor, status, channels, started_at)
             VALUES ($1::text::uuid, 'es', 'postiz', 'posting', '[]', now() - interval '1 hour')",
            &[&id],
        )
        .await?;
    let failed = sys.wait_for_job(&id, Duration::from_secs(120)).await?;
    assert_eq!(failed["status"], "failed", "{failed:#}");
    assert_eq!(
        publish_stage(&failed)["error"]["code"],
        "social_post_unconfirmed"
    );
    let (s, _) = sys
        .post(&format!("/v1/jobs/{id}/retry"), &json!({}))
        .await?;
    assert_eq!(s, 202);
    let done = sys.wait_for_job(&id, Duration::from_secs(120)).await?;
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(postiz.posts().len(), 0, "never sent");

    // Postiz says 2xx with a body of another shape: the post exists.
    postiz.script.push_for("/posts", Fault::Malformed);
    let (_, job) = dub_job(&sys, json!({"social": {"channels": ["x"]}})).await?;
    let done = sys
        .wait_for_job(job["id"].as_str().unwrap(), Duration::from_secs(120))
        .await?;
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(postiz.posts().len(), 1);
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refused_posts_are_retried_and_unknown_channels_are_named() -> anyhow::Result<()> {
    let postiz = FakePostiz::start().await;
    let sys = system_with(&postiz).await?;
    // A 503 turned the post away: sent again at once, posted once.
    postiz.script.push_for("/posts", Fault::Status(503));
    let (_, job) = dub_job(&sys, json!({"social": {"channels": ["youtube"]}})).await?;
    let id = job["id"].as_str().unwrap();
    let done = sys.wait_for_job(id, Duration::from_secs(120)).await?;
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(postiz.posts().len(), 2, "the refused request and the post");

    // A 500 may have been acted on: unknown, so not repeated.
    postiz.script.push_for("/posts", Fault::Status(500));
    let (_, job) = dub_job(&sys, json!({"social": {"channels": ["youtube"]}})).await?;
    let id = job["id"].as_str().unwrap();
    let done = sys.wait_for_job(id, Duration::from_secs(120)).await?;
    assert_eq!(done["status"], "failed", "{done:#}");
    assert_eq!(
        publish_stage(&done)["error"]["code"],
        "social_post_unconfirmed"
    );
    assert_eq!(postiz.posts().len(), 3);

    postiz.script.push_for("/posts", Fault::Status(400));

    let (_, job) = dub_job(&sys, json!({"social": {"channels": ["youtube"]}})).await?;
    let id = job["id"].as_str().unwrap();
    let done = sys.wait_for_job(id, Duration::from_secs(120)).await?;
    // 400 is a clear refusal: nothing was posted, so a retry may post.
    assert_eq!(done["status"], "failed", "{done:#}");
    assert_eq!(publish_stage(&done)["error"]["code"], "engine_failed");
    let (s, _) = sys
        .post(&format!("/v1/jobs/{id}/retry"), &json!({}))
        .await?;
    assert_eq!(s, 202);
    let done = sys.wait_for_job(id, Duration::from_secs(120)).await?;
    assert_eq!(done["status"], "completed", "{done:#}");

    let (_, job) = dub_job(&sys, json!({"social": {"channels": ["mastodon"]}})).await?;
    let done = sys
        .wait_for_job(job["id"].as_str().unwrap(), Duration::from_secs(120))
        .await?;
    let error = &publish_stage(&done)["error"];
    assert_eq!(error["code"], "unknown_channel", "{done:#}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("`mastodon`") && message.contains("Voxline Clips (tiktok, id tt-1)"),
        "{message}"
    );
    assert!(
        !message.contains("li-old"),
        "disabled channels are not offered"
    );
    assert_eq!(postiz.script.problems(), Vec::<String>::new());
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_publishing_options_are_refused_with_what_to_do() -> anyhow::Result<()> {
    let postiz = FakePostiz::start().await;
    let sys = system_with(&postiz).await?;
    let cases = [
        (
            json!({"social": {"channels": []}}),
            "invalid_option",
            "1 to 20",
        ),
        (
            json!({"social": {"channels": ["x"], "settings": {"x": 3}}}),
            "invalid_option",
            "settings.x",
        ),
        (
            json!({"publish_at": "tomorrow"}),
            "invalid_option",
            "RFC 3339",
        ),
        (
            json!({"social": {"channels": ["x"]}, "publish_at": "2020-01-01T00:00:00Z"}),
            "invalid_option",
            "in the past",
        ),
        (
            json!({"publish_at": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()}),
            "invalid_option",
            "publishes nowhere",
        ),
    ];
    for (options, code, says) in cases {
        let (s, b) = dub_job(&sys, options.clone()).await?;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (422, Some(code)),
            "{options}: {b}"
        );
        assert!(
            b["error"]["message"].as_str().unwrap().contains(says),
            "{options}: {b}"
        );
    }
    sys.stop().await?;

    // A server with no Postiz vendor says so.
    let sys = spawn_system(TestEnv::new().await?).await?;
    let (s, b) = dub_job(&sys, json!({"social": {"channels": ["x"]}})).await?;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("social_publishing_unavailable")),
        "{b}"
    );
    let (s, _, _) = sys
        .call(Method::GET, "/v1/jobs", Some(&sys.api_key), None)
        .await?;
    assert_eq!(s, 200);
    sys.stop().await
}
