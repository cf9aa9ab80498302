//! Status reads: how many `GET /v1/jobs/{id}` the gateway answers, under
//! wrk, next to the practical limit of the same PostgreSQL, pgbench's
//! select-only rate, in the same run and at the same connections.
//!
//! Two loads. *One job*: a real dub's view (tasks, stages, artifacts with
//! signed links) read over and over, the job unchanged. *Half changed*: many
//! jobs (`VOXLINE_BENCH_JOBS`, 60,000) in one shuffled order, each pass
//! reading a prefix of it, each job at most once; before each pass a random
//! half of all the jobs reports progress through the runner's own call
//! (`runs::progress`, under a lease), so at least half of the reads are of
//! jobs whose state changed since they were last read. The first pass, when
//! nothing has been read yet, is reported on its own (cold): every job is
//! read whole there, as a job changed otherwise than by progress would be
//! (progress alone is answered with the tasks' progress). The gateway is the
//! standalone system's, its workers idle. The rates are drawn beside
//! pgbench's in `docs/plots/status-reads.svg`.
//!
//! `make bench`, or `cargo bench -p voxline-testkit --bench status_reads`
//! (wrk and pgbench come from Debian: `apt-get install wrk postgresql-client`).
//! `VOXLINE_BENCH_SECONDS` (15), `VOXLINE_BENCH_CONNECTIONS` (32),
//! `VOXLINE_BENCH_JOBS` (60000) and `VOXLINE_BENCH_PASSES` (8) set the load,
//! `VOXLINE_BENCH_CHANGED` (0.5) the share of jobs changed before each pass,
//! and `VOXLINE_BENCH_VACUUM` (unset) vacuums after each burst of changes,
//! as autovacuum would over a steady stream of them. The seeded tables are
//! analyzed once, as pgbench analyzes its own, and the gateway keeps the
//! views of every seeded job (`server.job_views_kept`).

// The gateway runs in this process: with the allocator it ships with.
#[global_allocator]
static ALLOCATOR: voxline_gateway::Allocator = voxline_gateway::Allocator;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use futures::{StreamExt, stream};
use rand::seq::SliceRandom;
use serde::Serialize;
use voxline_core::JobKind;
use voxline_db::runs::{self, Claimed};
use voxline_db::{Db, workers};
use voxline_testkit::plot::{Group, grouped_bars};
use voxline_testkit::seed::{placeholder_upload, seeded_job};
use voxline_testkit::{TestEnv, pg_base, sample_clip, spawn_system};

#[derive(Debug, Serialize)]
struct Rate {
    what: String,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Requests answered in all.
    answered: u64,
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

/// wrk against `url` for at most `seconds`, with `script` (and the file of
/// paths it reads) choosing the paths when given.
fn wrk(
    what: &str,
    url: &str,
    key: &str,
    seconds: u64,
    connections: u32,
    script: Option<(&Path, &Path)>,
) -> anyhow::Result<Rate> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--latency",
    ])
    .args(["-H", &format!("Authorization: Bearer {key}")]);
    if let Some((script, _)) = script {
        cmd.arg("-s").arg(script);
    }
    cmd.arg(url);
    if let Some((_, paths)) = script {
        // wrk hands the arguments after the URL to the script's `init`.
        cmd.arg(paths);
    }
    let out = cmd.output()?;
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
    let answered = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or(0);
    Ok(Rate {
        what: what.into(),
        answered,
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
        answered: latencies.len() as u64,
    })
}

/// Each wrk thread reads its share of the paths in the file it is given, in
/// the file's order, and stops once it has read them all. (wrk's own clock
/// runs on to its `-d` all the same, so a pass is given less time than it
/// needs and every request of it reads a different job.)
const ONE_PASS: &str = r#"
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  local id, n = wrk.thread:get("id"), 2
  paths = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % n == id then paths[#paths + 1] = line end
    i = i + 1
  end
  next_path, answered = 0, 0
end
function request()
  next_path = next_path % #paths + 1
  return wrk.format("GET", paths[next_path])
end
function response(status)
  answered = answered + 1
  if answered >= #paths then wrk.thread:stop() end
end
"#;

/// Jobs of the API key's tenant, each with its first run held by `owner`
/// (so none is dispatched, and each can report progress).
async fn held_jobs(db: &Db, owner: &str, n: usize) -> anyhow::Result<Vec<Claimed>> {
    workers::register(db, owner, None, Duration::from_secs(24 * 3600)).await?;
    let upload = placeholder_upload(db, "tenant-a").await?;
    let created: Vec<_> = stream::iter(0..n)
        .map(|_| seeded_job(db, &upload, JobKind::Dub, &["es", "fr"], false, 3))
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let mut held = Vec::with_capacity(n);
    for chunk in created.chunks(256) {
        let deliveries: Vec<_> = chunk
            .iter()
            .map(|c| (c.dispatch[0].run_id, String::new()))
            .collect();
        held.extend(
            runs::claim(db, owner, &deliveries)
                .await?
                .into_iter()
                .flatten(),
        );
    }
    anyhow::ensure!(held.len() == n, "{} of {n} runs claimed", held.len());
    Ok(held)
}

/// A random share of `held` (`VOXLINE_BENCH_CHANGED`, half by default)
/// reports progress (the `round`th message).
async fn change_half(db: &Db, held: &[Claimed], round: usize) -> anyhow::Result<()> {
    let mut half: Vec<&Claimed> = held.iter().collect();
    half.shuffle(&mut rand::rng());
    let share: f64 = env_or("VOXLINE_BENCH_CHANGED", 0.5);
    half.truncate((held.len() as f64 * share) as usize);
    let message = format!("round {round}");
    let moved = stream::iter(half)
        .map(|c| runs::progress(db, c, 0.5, &message))
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    for m in moved {
        anyhow::ensure!(m?, "a held lease was lost");
    }
    Ok(())
}

/// The passes after the first, as one figure: every request over the time
/// they took; the median pass's p50 and the worst pass's p99.
fn mixed(passes: &[Rate], requests: &[f64]) -> Rate {
    let seconds: f64 = passes
        .iter()
        .zip(requests)
        .map(|(p, n)| n / p.per_second)
        .sum();
    let mut p50: Vec<f64> = passes.iter().map(|p| p.p50_ms).collect();
    p50.sort_by(f64::total_cmp);
    Rate {
        what: "GET /v1/jobs/{id}, half changed since last read".into(),
        per_second: requests.iter().sum::<f64>() / seconds,
        p50_ms: p50[p50.len() / 2],
        p99_ms: passes.iter().map(|p| p.p99_ms).fold(0.0, f64::max),
        answered: requests.iter().sum::<f64>() as u64,
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = env_or("VOXLINE_BENCH_SECONDS", 15);
    let connections: u32 = env_or("VOXLINE_BENCH_CONNECTIONS", 32);
    let jobs: usize = env_or("VOXLINE_BENCH_JOBS", 60_000);
    let passes: usize = env_or("VOXLINE_BENCH_PASSES", 8).max(2);
    let mut env = TestEnv::new().await?;
    env.settings.database.pool_size = 16;
    // Every job the mix reads is kept between its reads, as a gateway sized
    // to the jobs its clients poll would keep them.
    env.settings.server.job_views_kept = jobs;
    env.settings.telemetry.log_filter = "warn".into();
    // The jobs seeded for the mix are held by the bench, not run: the
    // janitor must not send them to the system's idle workers meanwhile.
    env.settings.runner.redispatch_after_seconds = 24 * 3600;
    // Request spans and metrics, as in production (no exporter).
    let _telemetry = voxline_telemetry::init(&env.settings, "bench-gateway");
    let sys = spawn_system(env).await?;
    let clip = sample_clip(&sys.env.path("media"))?;
    let job = sys.dub(&clip, &["es"]).await?;
    let id = job["id"].as_str().unwrap_or_default().to_owned();
    // Read once it is done: unchanged, and no engine busy beside the load.
    let done = sys.wait_for_job(&id, Duration::from_secs(600)).await?;
    anyhow::ensure!(done["status"] == "completed", "the dub ended {done}");
    let one = wrk(
        "GET /v1/jobs/{id}, one job unchanged",
        &sys.url(&format!("/v1/jobs/{id}")),
        &sys.api_key,
        seconds,
        connections,
        None,
    )?;

    let db = &sys.env.db;
    let held = held_jobs(db, "bench-changer", jobs).await?;
    // Statistics for the freshly seeded tables, as pgbench gives its own
    // (`vacuum analyze` after loading) and as autovacuum gives a database
    // that grew over time; without them the first plans are made blind.
    db.client().await?.batch_execute("VACUUM ANALYZE").await?;
    let script = sys.env.path("one_pass.lua");
    std::fs::write(&script, ONE_PASS)?;
    let paths = sys.env.path("paths.txt");
    // wrk's clock runs to its `-d` even once every thread has stopped, so a
    // pass is given less time than reading every job would take (the one
    // job's rate bounds the others'): each pass reads a prefix of one
    // shuffled order, and the first, cold pass twice as long a prefix as
    // the later ones, so every job a later pass reads was read before, and
    // half of all jobs changed since (more, for a job a pass reads that the
    // pass before did not reach).
    // (wrk takes whole seconds; two at least, so connecting is a small part.)
    let pass_seconds = ((0.35 * jobs as f64 / one.per_second) as u64).max(2);
    let mut order: Vec<String> = held
        .iter()
        .map(|c| format!("/v1/jobs/{}", c.job.id))
        .collect();
    order.shuffle(&mut rand::rng());
    std::fs::write(&paths, order.join("\n") + "\n")?;
    let mut cold = None;
    let (mut rounds, mut requests) = (Vec::new(), Vec::new());
    for pass in 0..passes {
        if pass > 0 {
            change_half(db, &held, pass).await?;
            if std::env::var("VOXLINE_BENCH_VACUUM").is_ok() {
                db.client().await?.batch_execute("VACUUM").await?;
            }
        }
        eprintln!("pass {pass}: reading");
        let rate = wrk(
            &format!("pass {pass}"),
            &sys.url("/"),
            &sys.api_key,
            if pass == 0 {
                2 * pass_seconds
            } else {
                pass_seconds
            },
            connections,
            Some((&script, &paths)),
        )?;
        anyhow::ensure!(
            rate.answered < jobs as u64,
            "pass {pass} read all {jobs} jobs in its time; raise VOXLINE_BENCH_JOBS"
        );
        eprintln!(
            "pass {pass}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
            rate.per_second, rate.p50_ms, rate.p99_ms
        );
        if pass == 0 {
            cold = Some(Rate {
                what: "GET /v1/jobs/{id}, every job read the first time".into(),
                ..rate
            });
        } else {
            requests.push(rate.answered as f64);
            rounds.push(rate);
        }
    }
    let half_changed = mixed(&rounds, &requests);
    let cold = cold.expect("a first pass");

    // pgbench's tables in a database of their own, on the same server.
    let bench_db = TestEnv::new().await?;
    let limit = pgbench(bench_db.database(), seconds, connections)?;
    println!("| what | per second | p50 ms | p99 ms | of pgbench -S |");
    println!("|---|---|---|---|---|");
    for r in [&one, &half_changed, &cold, &limit] {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.1} % |",
            r.what,
            r.per_second,
            r.p50_ms,
            r.p99_ms,
            r.per_second / limit.per_second * 100.0
        );
    }
    println!(
        "{jobs} jobs, {} passes after the first, {connections} connections; one job and pgbench {seconds} s each",
        passes - 1
    );
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let groups: Vec<Group> = [
        ("one job unchanged", &one),
        ("half changed", &half_changed),
        ("cold", &cold),
    ]
    .into_iter()
    .map(|(label, r)| Group {
        label: label.into(),
        values: vec![r.per_second, limit.per_second],
    })
    .collect();
    std::fs::create_dir_all(root.join("docs/plots"))?;
    std::fs::write(
        root.join("docs/plots/status-reads.svg"),
        grouped_bars(
            "GET /v1/jobs/{id} a second beside pgbench -S on the same PostgreSQL",
            "requests a second",
            &["Voxline", "pgbench -S"],
            &groups,
        ),
    )?;
    std::fs::create_dir_all(root.join("target/bench"))?;
    std::fs::write(
        root.join("target/bench/status_reads.json"),
        serde_json::to_string_pretty(&[one, half_changed, cold, limit])?,
    )?;
    println!("figures: target/bench/status_reads.json; plot: docs/plots/status-reads.svg");
    Ok(())
}
