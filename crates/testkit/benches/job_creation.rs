//! Back-pressure: how fast `POST /v1/jobs` answers while a stage's queue is
//! long. The gateway runs alone (no worker drains the queue) against real
//! PostgreSQL and Redis; the benchmark measures creation latency on an empty
//! queue, then fills the transcribe queue with a backlog of jobs from the
//! same tenant (the in-flight limit's count sees all of them) and from a
//! second tenant, and measures again.
//!
//! `make bench`, or `cargo bench -p voxline-testkit --bench job_creation`.
//! `VOXLINE_BENCH_BACKLOG=N` sets the backlog (10 000 by default),
//! `VOXLINE_BENCH_SAMPLES=N` the measured creations per point (300).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use voxline_core::Stage;
use voxline_db::api_keys;
use voxline_queue::Queue;
use voxline_testkit::{TestEnv, sample_clip_saying};
use voxline_worker::CancellationToken;

struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
    upload: String,
}

impl Client {
    async fn new(base: &str, key: String, clip: &std::path::Path) -> anyhow::Result<Self> {
        let http = reqwest::Client::new();
        let upload: serde_json::Value = http
            .post(format!("{base}/v1/uploads"))
            .query(&[("filename", "clip.mp4")])
            .bearer_auth(&key)
            .body(tokio::fs::read(clip).await?)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(Self {
            http,
            base: base.to_owned(),
            key,
            upload: upload["id"].as_str().unwrap_or_default().to_owned(),
        })
    }

    /// Creates one dub job; returns how long the gateway took to answer.
    async fn create(&self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let r = self
            .http
            .post(format!("{}/v1/jobs", self.base))
            .bearer_auth(&self.key)
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&json!({"kind": "dub", "source_upload_id": self.upload,
                          "source_language": "en", "target_languages": ["es"]}))
            .send()
            .await?;
        let elapsed = started.elapsed();
        anyhow::ensure!(r.status() == 202, "creation answered {}", r.status());
        Ok(elapsed)
    }
}

/// Latency figures of one measured point, in milliseconds.
struct Point {
    label: String,
    depth: u64,
    samples: Vec<Duration>,
}

impl Point {
    fn row(&self) -> String {
        format!(
            "| {} | {} | {} | {} |",
            self.label,
            self.depth,
            self.samples.len(),
            voxline_testkit::stats::latency_cells(&self.samples),
        )
    }
}

async fn measure(
    client: &Client,
    dispatcher: &Queue,
    label: &str,
    n: usize,
) -> anyhow::Result<Point> {
    let depth = dispatcher.stats(Stage::Transcribe).await?.depth();
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        samples.push(client.create().await?);
    }
    Ok(Point {
        label: label.to_owned(),
        depth,
        samples,
    })
}

/// Creates `count` jobs with `parallel` clients at once.
async fn fill(clients: &[Arc<Client>], count: usize, parallel: usize) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for i in 0..parallel {
        let client = clients[i % clients.len()].clone();
        let share = count / parallel + usize::from(i < count % parallel);
        workers.spawn(async move {
            for _ in 0..share {
                client.create().await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let backlog = env_number("VOXLINE_BENCH_BACKLOG", 10_000);
    let samples = env_number("VOXLINE_BENCH_SAMPLES", 300);

    let mut env = TestEnv::new().await?;
    env.settings.server.max_jobs_in_flight = u32::MAX;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    env.settings.server.public_url = base.clone();
    let engines = Arc::new(voxline_worker::engines(&env.settings).await?);
    let state = voxline_gateway::state_from(&env.settings, engines).await?;
    let dispatcher = state.queue.clone();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(voxline_gateway::serve(listener, state, shutdown.clone()));

    let clip = sample_clip_saying(&env.path("media"), Some("Hello there."))?;
    let mut keys = Vec::new();
    for tenant in ["measured", "neighbour"] {
        let id = api_keys::ensure_tenant(&env.db, tenant).await?;
        keys.push(api_keys::create(&env.db, id, "bench").await?.secret);
    }
    let measured = Arc::new(Client::new(&base, keys[0].clone(), &clip).await?);
    let neighbour = Arc::new(Client::new(&base, keys[1].clone(), &clip).await?);

    fill(std::slice::from_ref(&measured), 50, 1).await?; // warm the pools and caches
    let mut points = vec![measure(&measured, &dispatcher, "empty queue", samples).await?];
    let rate = fill(&[measured.clone(), neighbour.clone()], backlog, 8).await?;
    points.push(measure(&measured, &dispatcher, "long queue", samples).await?);
    let queued: i64 = env
        .db
        .client()
        .await?
        .query_one("SELECT count(*) FROM jobs WHERE status = 'queued'", &[])
        .await?
        .get(0);

    println!(
        "\njob creation while the transcribe queue is long (gateway alone, no worker draining)"
    );
    println!(
        "backlog filled at {rate:.0} jobs/s by 8 concurrent clients; {queued} jobs queued in PostgreSQL at the end\n"
    );
    println!("| queue | depth (messages) | creations | p50 ms | p95 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|---|");
    for p in &points {
        println!("{}", p.row());
    }
    shutdown.cancel();
    server.await??;
    Ok(())
}
