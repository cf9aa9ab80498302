//! The pipeline as operators run it: every service its own process (the
//! binaries `make test` builds), talking only through PostgreSQL, Redis and
//! storage. One worker process is killed with SIGKILL mid-run and started
//! again, as a supervisor would; the job still completes.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;
use voxline_db::api_keys;
use voxline_testkit::{TestEnv, binary, ffprobe_json, sample_clip, stream_count};

struct Service {
    name: &'static str,
    child: Child,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(
    name: &'static str,
    env: &[(String, String)],
    logs: &std::path::Path,
) -> anyhow::Result<Service> {
    let path = binary(name);
    let log = std::fs::File::create(logs.join(format!("{name}.log")))?;
    let child = Command::new(path)
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    Ok(Service { name, child })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dub_flows_through_separate_worker_processes() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let s = &env.settings;
    let vars: Vec<(String, String)> = [
        ("VOXLINE__DATABASE__URL", s.database.url.expose().to_owned()),
        ("VOXLINE__REDIS__NAMESPACE", s.redis.namespace.clone()),
        (
            "VOXLINE__STORAGE__LOCAL_ROOT",
            s.storage.local_root.display().to_string(),
        ),
        ("VOXLINE__SERVER__BIND", format!("127.0.0.1:{port}")),
        ("VOXLINE__SERVER__PUBLIC_URL", base.clone()),
        ("VOXLINE__RUNNER__LEASE_SECONDS", "4".into()),
        ("VOXLINE__RUNNER__RECONCILE_INTERVAL_SECONDS", "1".into()),
        ("VOXLINE__RUNNER__REDISPATCH_AFTER_SECONDS", "5".into()),
        ("VOXLINE__TELEMETRY__LOG_FILTER", "info".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let logs = env.path("logs");
    std::fs::create_dir_all(&logs)?;
    let mut services = Vec::new();
    for name in [
        "voxline-gateway",
        "voxline-transcriber",
        "voxline-translator",
        "voxline-synthesizer",
        "voxline-renderer",
        "voxline-janitor",
    ] {
        services.push(start(name, &vars, &logs)?);
    }
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let tenant = api_keys::ensure_tenant(&env.db, "processes").await?;
    let key = api_keys::create(&env.db, tenant, "test").await?.secret;

    let clip = sample_clip(&env.path("media"))?;
    let upload: serde_json::Value = http
        .post(format!("{base}/v1/uploads?filename=clip.mp4"))
        .bearer_auth(&key)
        .body(std::fs::read(&clip)?)
        .send()
        .await?
        .json()
        .await?;
    let job: serde_json::Value = http
        .post(format!("{base}/v1/jobs"))
        .bearer_auth(&key)
        .json(&json!({"kind": "dub", "source_upload_id": upload["id"], "target_languages": ["es"]}))
        .send()
        .await?
        .json()
        .await?;
    let id = job["id"].as_str().expect("a job id").to_owned();

    // SIGKILL the renderer as soon as rendering has started, then restart it.
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
        let stage = job["tasks"][0]["stage"].as_str().unwrap_or("");
        if !killed && stage == "render" && job["tasks"][0]["message"] == "rendering" {
            let renderer = services
                .iter_mut()
                .find(|s| s.name == "voxline-renderer")
                .unwrap();
            renderer.child.kill()?;
            renderer.child.wait()?;
            killed = true;
            let replacement = start("voxline-renderer", &vars, &logs)?;
            services.retain(|s| s.name != "voxline-renderer");
            services.push(replacement);
        }
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
    let probe = ffprobe_json(&path)?;
    assert_eq!(stream_count(&probe, "audio"), 2);
    // Exactly one commit per stage run, kill or not.
    let row = env.db.client().await?.query_one(
        "SELECT count(*), count(DISTINCT c.stage_run_id) FROM stage_commits c JOIN stage_runs r ON r.id = c.stage_run_id WHERE r.job_id = $1::text::uuid",
        &[&id],
    ).await?;
    assert_eq!(row.get::<_, i64>(0), 4);
    assert_eq!(row.get::<_, i64>(1), 4);
    assert!(killed, "the renderer was to be killed while it rendered");

    // SIGTERM: every service stops and exits 0.
    for service in &mut services {
        Command::new("kill")
            .args(["-TERM", &service.child.id().to_string()])
            .status()?;
    }
    for service in &mut services {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = service.child.try_wait()? {
                break status;
            }
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "{} did not stop on SIGTERM",
                service.name
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(
            status.success(),
            "{} exited with {status} on SIGTERM",
            service.name
        );
    }
    Ok(())
}
