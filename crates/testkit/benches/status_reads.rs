//! Status reads: how many `GET /v1/jobs/{id}` the gateway answers, under
//! wrk, next to the practical limit of the same PostgreSQL, pgbench's
//! select-only rate. The job read is a real dub's view (tasks, stages,
//! artifacts with signed links); the gateway is the one of the standalone
//! system, with its workers idle.
//!
//! `make bench`, or `cargo bench -p voxline-testkit --bench status_reads`
//! (wrk and pgbench come from Debian: `apt-get install wrk postgresql-client`).
//! `VOXLINE_BENCH_SECONDS` (15) and `VOXLINE_BENCH_CONNECTIONS` (32) set the load.

use std::process::Command;
use std::time::Duration;

use serde::Serialize;
use voxline_testkit::{TestEnv, pg_base, sample_clip, spawn_system};

#[derive(Debug, Serialize)]
struct Rate {
    what: String,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// The figure after `label` on the line that starts with it.
fn figure_after(text: &str, label: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(label))
        .map(|rest| rest.split_whitespace().next().unwrap_or("").to_owned())
}

/// wrk prints latencies as `1.23ms`, `850.00us` or `1.02s`.
fn wrk_ms(value: &str) -> f64 {
    let number = |suffix: &str| {
        value
            .strip_suffix(suffix)
            .and_then(|v| v.parse::<f64>().ok())
    };
    number("us")
        .map(|v| v / 1000.0)
        .or_else(|| number("ms"))
        .or_else(|| number("s").map(|v| v * 1000.0))
        .unwrap_or(f64::NAN)
}

fn wrk(url: &str, key: &str, seconds: u64, connections: u32) -> anyhow::Result<Rate> {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
        ])
        .args(["-H", &format!("Authorization: Bearer {key}"), url])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "wrk failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout)?;
    anyhow::ensure!(
        !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "the gateway answered errors or dropped connections under load:\n{text}"
    );
    Ok(Rate {
        what: "GET /v1/jobs/{id} (wrk)".into(),
        per_second: figure_after(&text, "Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0),
        p50_ms: figure_after(&text, "50%").map_or(f64::NAN, |v| wrk_ms(&v)),
        p99_ms: figure_after(&text, "99%").map_or(f64::NAN, |v| wrk_ms(&v)),
    })
}

fn pgbench(database: &str, seconds: u64, connections: u32) -> anyhow::Result<Rate> {
    let url = format!("{}/{database}", pg_base());
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", "10", &url])
        .output()?;
    anyhow::ensure!(
        init.status.success(),
        "pgbench -i failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let logs = tempfile::tempdir()?;
    let out = Command::new("pgbench")
        .current_dir(logs.path())
        .args([
            "-S",
            "-n",
            "-l",
            &format!("-c{connections}"),
            "-j2",
            &format!("-T{seconds}"),
            &url,
        ])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "pgbench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout)?;
    // Per-transaction logs: the third column is the latency in microseconds.
    let mut latencies: Vec<Duration> = Vec::new();
    for entry in std::fs::read_dir(logs.path())?.flatten() {
        for line in std::fs::read_to_string(entry.path())?.lines() {
            if let Some(us) = line
                .split_whitespace()
                .nth(2)
                .and_then(|v| v.parse::<u64>().ok())
            {
                latencies.push(Duration::from_micros(us));
            }
        }
    }
    let tps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("tps = "))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    Ok(Rate {
        what: "pgbench select-only".into(),
        per_second: tps,
        p50_ms: voxline_testkit::stats::percentile_ms(&latencies, 0.5),
        p99_ms: voxline_testkit::stats::percentile_ms(&latencies, 0.99),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::var("VOXLINE_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let connections: u32 = std::env::var("VOXLINE_BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let mut env = TestEnv::new().await?;
    env.settings.database.pool_size = 16;
    env.settings.telemetry.log_filter = "warn".into();
    // Request spans and metrics, as in production (no exporter).
    let _telemetry = voxline_telemetry::init(&env.settings, "bench-gateway");
    let sys = spawn_system(env).await?;
    let clip = sample_clip(&sys.env.path("media"))?;
    let job = sys.dub(&clip, &["es"]).await?;
    let id = job["id"].as_str().unwrap_or_default().to_owned();
    let url = sys.url(&format!("/v1/jobs/{id}"));
    let reads = wrk(&url, &sys.api_key, seconds, connections)?;
    // pgbench's tables in a database of their own, on the same server.
    let bench_db = TestEnv::new().await?;
    let database = bench_db
        .settings
        .database
        .url
        .expose()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let limit = pgbench(&database, seconds, connections)?;
    println!("| what | per second | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    for r in [&reads, &limit] {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} |",
            r.what, r.per_second, r.p50_ms, r.p99_ms
        );
    }
    println!(
        "status reads reach {:.1} % of PostgreSQL's select-only rate ({connections} connections, {seconds} s each)",
        reads.per_second / limit.per_second * 100.0
    );
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::create_dir_all(root.join("target/bench"))?;
    std::fs::write(
        root.join("target/bench/status_reads.json"),
        serde_json::to_string_pretty(&[reads, limit])?,
    )?;
    Ok(())
}
