//! Credits and usage: a job reserves its price or is refused with the
//! shortfall (402); completed languages are charged, failed and cancelled
//! ones released; a retry reserves again; after a mixed run the balance is
//! exact. Every engine call has a usage row with its estimated cost, in the
//! job view and in `GET /v1/usage`.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use voxline_config::{PriceTable, Secret};
use voxline_testkit::{TestEnv, sample_clip_saying, spawn_system};

const ADMIN: &str = "test-admin-token-0123456789";

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn credits_balance_exactly_after_a_mixed_run() -> anyhow::Result<()> {
    let mut env = TestEnv::new().await?;
    env.settings.credits.enabled = true;
    env.settings.auth.admin_token = Secret::new(ADMIN);
    env.settings.runner.max_attempts = 1;
    env.settings.prices = PriceTable(BTreeMap::from([(
        "apertium".to_owned(),
        BTreeMap::from([("characters".to_owned(), 0.00002)]),
    )]));
    let sys = spawn_system(env).await?;
    let clip = sample_clip_saying(&sys.env.path("media"), Some("Hello there."))?;
    let (_, upload) = sys.upload(&clip).await?;
    let seconds = upload["duration"].as_f64().unwrap();
    let price = (seconds * 0.1 * 10_000.0).round() / 10_000.0;
    let dub = json!({"kind": "dub", "source_upload_id": upload["id"], "target_languages": ["es"]});

    // No credits yet: refused with the shortfall, and nothing is made.
    let (s, b) = sys.post("/v1/jobs", &dub).await?;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (402, Some("insufficient_credits")),
        "{b}"
    );
    assert!(
        close(b["error"]["shortfall"].as_f64().unwrap(), price),
        "{b}"
    );
    assert_eq!(
        sys.get("/v1/jobs").await?.1["jobs"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // The admin API takes the admin token only.
    let grant = json!({"tenant": "tenant-a", "amount": 10.0, "note": "welcome"});
    let (s, _, _) = sys
        .call(
            Method::POST,
            "/v1/admin/credits",
            Some(&sys.api_key),
            Some(&grant),
        )
        .await?;
    assert_eq!(s, 401);
    let (s, b, _) = sys
        .call(Method::POST, "/v1/admin/credits", Some(ADMIN), Some(&grant))
        .await?;
    assert_eq!(s, 200, "{b}");
    assert!(close(b["available"].as_f64().unwrap(), 10.0));

    // One completes, one is cancelled at once, one fails (its webhook
    // endpoint is closed, and a stage gets one attempt here).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let failing = json!({"kind": "subtitle", "source_upload_id": upload["id"], "target_languages": ["es"],
        "options": {"webhook_url": format!("http://{closed}/hook")}});
    let mut ids = vec![];
    for body in [&dub, &dub, &failing] {
        let (s, job) = sys.post("/v1/jobs", body).await?;
        assert_eq!(s, 202, "{job}");
        ids.push(job["id"].as_str().unwrap().to_owned());
    }
    let (_, held) = sys.get("/v1/credits").await?;
    assert!(
        close(held["reserved"].as_f64().unwrap(), 3.0 * price),
        "{held}"
    );
    assert!(
        close(held["available"].as_f64().unwrap(), 10.0 - 3.0 * price),
        "{held}"
    );
    let (s, _) = sys
        .post(&format!("/v1/jobs/{}/cancel", ids[1]), &json!({}))
        .await?;
    assert_eq!(s, 200);
    let mut ends = vec![];
    for id in &ids {
        ends.push(sys.wait_for_job(id, Duration::from_secs(120)).await?["status"].clone());
    }
    assert_eq!(
        ends,
        [json!("completed"), json!("cancelled"), json!("failed")]
    );

    // A retry of the failed job reserves again, fails again, releases again.
    let (s, b) = sys
        .post(&format!("/v1/jobs/{}/retry", ids[2]), &json!({}))
        .await?;
    assert_eq!(s, 202, "{b}");
    sys.wait_for_job(&ids[2], Duration::from_secs(120)).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (_, credits) = sys.get("/v1/credits").await?;
    assert!(
        close(credits["available"].as_f64().unwrap(), 10.0 - price),
        "only the completed language is charged: {credits}"
    );
    assert!(
        close(credits["reserved"].as_f64().unwrap(), 0.0),
        "{credits}"
    );
    let kinds = |kind: &str| {
        credits["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == kind)
            .count()
    };
    assert_eq!(
        (
            kinds("grant"),
            kinds("reserve"),
            kinds("release"),
            kinds("charge")
        ),
        (1, 4, 4, 1),
        "{credits}"
    );

    // Usage: every engine call of the completed dub, priced from the table.
    let (_, job) = sys.get(&format!("/v1/jobs/{}", ids[0])).await?;
    assert!(
        close(job["tasks"][0]["credits"].as_f64().unwrap(), price),
        "{job}"
    );
    let usage = job["usage"].as_array().unwrap();
    let engines: Vec<&str> = usage
        .iter()
        .map(|u| u["engine"].as_str().unwrap())
        .collect();
    assert_eq!(
        engines,
        ["pocketsphinx", "apertium", "espeak-ng"],
        "{job:#}"
    );
    let apertium: &Value = usage.iter().find(|u| u["engine"] == "apertium").unwrap();
    assert_eq!(
        (apertium["stage"].as_str(), apertium["language"].as_str()),
        (Some("translate"), Some("es"))
    );
    assert!(close(
        apertium["cost_usd"].as_f64().unwrap(),
        apertium["units"].as_f64().unwrap() * 0.00002
    ));

    let (s, totals) = sys.get("/v1/usage?group_by=engine").await?;
    assert_eq!(s, 200, "{totals}");
    let row = totals["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "apertium")
        .cloned()
        .unwrap();
    assert!(row["calls"].as_i64().unwrap() >= 1, "{totals}");
    assert!(
        close(
            totals["cost_usd"].as_f64().unwrap(),
            row["cost_usd"].as_f64().unwrap()
        ),
        "{totals}"
    );
    // Usage is the account of what was spent: deleting the job keeps it.
    let client = sys.env.db.client().await?;
    let tenant: uuid::Uuid = client
        .query_one(
            "SELECT tenant_id FROM jobs WHERE id = $1::text::uuid",
            &[&ids[0]],
        )
        .await?
        .get(0);
    drop(client);
    voxline_db::jobs::delete_ended(
        &sys.env.db,
        voxline_core::TenantId(tenant),
        voxline_core::JobId::parse(&ids[0])?,
    )
    .await?;
    assert_eq!(sys.get(&format!("/v1/jobs/{}", ids[0])).await?.0, 404);
    let (_, after) = sys.get("/v1/usage?group_by=engine").await?;
    assert_eq!(after["totals"], totals["totals"], "{after}");

    let (s, b) = sys.get("/v1/usage?group_by=moon").await?;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("invalid_group_by"))
    );
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_engine_calls_are_recorded_with_their_error() -> anyhow::Result<()> {
    let mut env = TestEnv::new().await?;
    // Apertium's pairs are installed, but its program is gone: the call
    // fails for good (a missing program is not retried).
    env.settings.engines.apertium_binary = "/nonexistent/apertium".into();
    let sys = spawn_system(env).await?;
    let clip = sample_clip_saying(&sys.env.path("media"), Some("Hello there."))?;
    let (_, upload) = sys.upload(&clip).await?;
    let (s, job) = sys
        .post(
            "/v1/jobs",
            &json!({"kind": "subtitle", "source_upload_id": upload["id"], "target_languages": ["es"]}),
        )
        .await?;
    assert_eq!(s, 202, "{job}");
    let id = job["id"].as_str().unwrap();
    let done = sys.wait_for_job(id, Duration::from_secs(120)).await?;
    assert_eq!(done["status"], "failed", "{done:#}");
    let failed: Vec<&Value> = done["usage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["engine"] == "apertium")
        .collect();
    assert_eq!(failed.len(), 1, "one failed call: {done:#}");
    assert!(
        failed.iter().all(
            |u| u["ok"] == false && u["error"].as_str().is_some_and(|e| e.contains("apertium"))
        )
    );
    let (_, totals) = sys.get("/v1/usage?group_by=stage").await?;
    let translate = totals["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "translate")
        .cloned()
        .unwrap();
    assert_eq!(
        (
            translate["calls"].as_i64(),
            translate["failed_calls"].as_i64()
        ),
        (Some(1), Some(1)),
        "{totals}"
    );
    sys.stop().await
}
