//! A system started while Redis is away: it starts, answers, records jobs
//! (PostgreSQL is the source of truth), and dispatches them once Redis
//! answers, with nothing restarted.

use std::process::Stdio;
use std::time::Duration;

use voxline_testkit::{TestEnv, sample_clip_saying, spawn_system};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_system_started_before_redis_works_once_redis_answers() -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut env = TestEnv::new().await?;
    env.settings.redis.url = voxline_config::Secret::new(format!("redis://127.0.0.1:{port}"));
    let sys = spawn_system(env).await?;

    let (s, health) = sys.get("/healthz").await?;
    assert_eq!(s, 200, "{health}");
    let (s, ready) = sys.get("/readyz").await?;
    assert_eq!(s, 503, "not ready without Redis: {ready}");
    let clip = sample_clip_saying(&sys.env.path("media"), Some("Hello there."))?;
    // Recorded (202) while Redis is away.
    let job = sys.dub(&clip, &["es"]).await?;
    let id = job["id"].as_str().unwrap().to_owned();

    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut redis = tokio::process::Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let done = sys.wait_for_job(&id, Duration::from_secs(120)).await;
    let _ = redis.kill().await;
    let done = done?;
    assert_eq!(done["status"], "completed", "{done}");
    sys.stop().await
}
