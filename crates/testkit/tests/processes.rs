//! The pipeline as operators run it: every service its own process (the
//! binaries `make test` builds), talking only through PostgreSQL, Redis and
//! storage. The renderer is killed with SIGKILL mid-stage and restarted, as
//! a supervisor would; the job still completes, each stage committed once,
//! and every service stops on SIGTERM with exit 0.

use std::time::Duration;

use serde_json::json;
use voxline_db::api_keys;
use voxline_testkit::{Fleet, TestEnv, ffprobe_json, sample_clip, stream_count};

const SERVICES: &[(&str, usize)] = &[
    ("voxline-gateway", 1),
    ("voxline-transcriber", 1),
    ("voxline-translator", 1),
    ("voxline-synthesizer", 1),
    ("voxline-renderer", 1),
    ("voxline-janitor", 1),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dub_flows_through_separate_worker_processes() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let mut fleet = Fleet::start(&env, SERVICES, &[])?;
    fleet.ready().await?;
    let base = fleet.base.clone();
    let http = reqwest::Client::new();
    let tenant = api_keys::ensure_tenant(&env.db, "processes").await?;
    let key = api_keys::create(&env.db, tenant, "test").await?.secret;

    let clip = sample_clip(&env.path("media"))?;
    let id = fleet
        .submit(
            &key,
            &clip,
            json!({"kind": "dub", "target_languages": ["es"]}),
        )
        .await?;

    // SIGKILL the renderer while its stage runs (any of its steps); the
    // supervisor restarts it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    let mut killed = false;
    let job = loop {
        let job: serde_json::Value = http
            .get(format!("{base}/v1/jobs/{id}"))
            .bearer_auth(&key)
            .send()
            .await?
            .json()
            .await?;
        let rendering = job["tasks"][0]["stages"].as_array().is_some_and(|stages| {
            stages
                .iter()
                .any(|s| s["stage"] == "render" && s["status"] == "running")
        });
        if !killed && rendering {
            fleet.kill(&["voxline-renderer"], 0)?;
            killed = true;
        }
        fleet.supervise()?;
        if matches!(
            job["status"].as_str(),
            Some("completed" | "failed" | "cancelled")
        ) {
            break job;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the job did not end: {job:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(killed, "the renderer was to be killed while it rendered");
    assert_eq!(fleet.restarts, 1);
    assert_eq!(job["status"], "completed", "{job:#}");
    let dub = job["tasks"][0]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "dub")
        .expect("the dub")
        .clone();
    let path = env.path("dub.mp4");
    std::fs::write(
        &path,
        reqwest::get(dub["download_url"].as_str().unwrap())
            .await?
            .bytes()
            .await?,
    )?;
    assert_eq!(stream_count(&ffprobe_json(&path)?, "audio"), 2);
    // Exactly one commit per stage run, kill or not.
    let row = env
        .db
        .client()
        .await?
        .query_one(
            "SELECT count(*), count(DISTINCT c.stage_run_id) FROM stage_commits c
             JOIN stage_runs r ON r.id = c.stage_run_id WHERE r.job_id = $1::text::uuid",
            &[&id],
        )
        .await?;
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (4, 4));

    // SIGTERM: every service stops and exits 0.
    for (name, status) in fleet.terminate(Duration::from_secs(20))? {
        assert!(status.success(), "{name} exited with {status} on SIGTERM");
    }
    Ok(())
}
