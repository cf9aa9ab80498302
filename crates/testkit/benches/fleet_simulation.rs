//! The fleet simulation of docs/scaling.md: Voxline's real runner (worker
//! processes with their leases, claims and outcomes, and the janitor)
//! holding thousands of stages at once, each taking seconds to a minute,
//! while jobs arrive at a steady rate. It counts what PostgreSQL does for
//! them, statement by statement, beside what the model in docs/scaling.md
//! predicts from the rate, the durations and the number of processes.
//!
//! Knobs (environment):
//! - `VOXLINE_BENCH_FLEET_RATE`: jobs a second (40);
//! - `VOXLINE_BENCH_STAGE_MS` and `VOXLINE_BENCH_STAGE_MS_MAX`: each stage
//!   run takes between the two, log-uniformly (1,000 and 60,000);
//! - `VOXLINE_BENCH_FLEET_PROCESSES`: worker processes per stage (2), each
//!   running up to `VOXLINE_BENCH_FLEET_CONCURRENCY` stages at once (1,000);
//! - `VOXLINE_BENCH_FLEET_WARM_SECONDS` (120), then
//!   `VOXLINE_BENCH_FLEET_SECONDS` (120) counted.
//!
//! Needs pg_stat_statements (`scripts/setup.sh --bench`). On a server with
//! autovacuum off (this project's test machines turn it off) the benchmark
//! stands in for it, as a production server would run it: `VACUUM
//! (ANALYZE)` of the hot tables once a minute, autovacuum's default pace
//! (without new statistics the workers keep the plans they made while the
//! tables were small, which scan them whole as they grow).
//! `cargo bench -p voxline-testkit --bench fleet_simulation` (in `make bench`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use voxline_core::Priority;
use voxline_testkit::pipeline::{self, Fleet, PgWork, STAGES, Shape, StatementWork, Submitter};

fn knob<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The tables the stand-in for autovacuum vacuums and analyzes.
const HOT_TABLES: &str = "stage_runs, tasks, jobs, job_events, stage_commits, workers";

#[derive(Debug, Clone, Serialize)]
struct Knobs {
    jobs_per_second: f64,
    stage_ms_min: u64,
    stage_ms_max: u64,
    processes_per_stage: usize,
    concurrency: usize,
    warm_seconds: u64,
    seconds: u64,
    /// Whether the server ran autovacuum; if not, the benchmark stood in.
    autovacuum: bool,
}

/// What the window counted, and what the model predicted for it.
#[derive(Debug, Clone, Serialize)]
struct Report {
    knobs: Knobs,
    model: Model,
    measured: Measured,
    /// Per statement (named by its file under `crates/db/queries/`):
    /// calls a second, microseconds each, rows each.
    statements: Vec<Statement>,
}

#[derive(Debug, Clone, Serialize)]
struct Model {
    stages_in_flight: f64,
    renewals_per_second: f64,
    runs_started_per_second: f64,
    runs_ended_per_second: f64,
    /// Held runs each renewal checks, a second in all.
    held_runs_checked_per_second: f64,
}

#[derive(Debug, Clone, Serialize)]
struct Measured {
    stages_in_flight_mean: f64,
    stages_in_flight_max: f64,
    queued_mean: f64,
    renewals_per_second: f64,
    renewal_us: f64,
    runs_started_per_second: f64,
    runs_ended_per_second: f64,
    claim_statements_per_second: f64,
    outcome_statements_per_second: f64,
    statements_per_second: f64,
    commits_per_second: f64,
    postgres_cpu_percent: f64,
    postgres_cpu_ms_per_job: f64,
    workers_cpu_percent: f64,
    redis_cpu_percent: f64,
    /// Of every run made in the whole simulation: those claimed more than
    /// once, their failed attempts, and the leases lost under them (all 0
    /// when nothing went wrong).
    runs_claimed_again: i64,
    failed_attempts: i64,
    leases_lost: i64,
}

#[derive(Debug, Clone, Serialize)]
struct Statement {
    name: String,
    calls_per_second: f64,
    us_per_call: f64,
    rows_per_call: f64,
}

fn main() -> anyhow::Result<()> {
    if pipeline::child_main()? {
        return Ok(());
    }
    tokio::runtime::Runtime::new()?.block_on(simulate())
}

/// The sampler's own statement, left out of the counts.
const SAMPLE: &str =
    "SELECT /* fleet sampler */ count(*) FILTER (WHERE status = 'running')::float8,
        count(*) FILTER (WHERE status = 'queued')::float8
 FROM stage_runs WHERE finished_at IS NULL";

/// Everything measured at one moment.
struct Snapshot {
    at: chrono::DateTime<chrono::Utc>,
    taken: Instant,
    pg: PgWork,
    statements: Vec<StatementWork>,
    workers_cpu: f64,
    redis_cpu: f64,
}

impl Snapshot {
    async fn take(fleet: &mut Fleet) -> anyhow::Result<Self> {
        // Busy backends report their statistics within about a second.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let at = fleet
            .connections
            .db
            .client()
            .await?
            .query_one("SELECT now()", &[])
            .await?
            .get(0);
        Ok(Self {
            at,
            taken: Instant::now(),
            pg: PgWork::now(&fleet.env).await?,
            statements: StatementWork::all(&fleet.env).await?,
            workers_cpu: fleet.cpu_seconds(),
            redis_cpu: fleet.redis_cpu_seconds().await,
        })
    }
}

async fn simulate() -> anyhow::Result<()> {
    let knobs = Knobs {
        jobs_per_second: knob("VOXLINE_BENCH_FLEET_RATE", 40.0),
        stage_ms_min: knob("VOXLINE_BENCH_STAGE_MS", 1_000),
        stage_ms_max: knob("VOXLINE_BENCH_STAGE_MS_MAX", 60_000),
        processes_per_stage: knob("VOXLINE_BENCH_FLEET_PROCESSES", 2),
        concurrency: knob("VOXLINE_BENCH_FLEET_CONCURRENCY", 1_000),
        warm_seconds: knob("VOXLINE_BENCH_FLEET_WARM_SECONDS", 120),
        seconds: knob("VOXLINE_BENCH_FLEET_SECONDS", 120),
        autovacuum: true,
    };
    let mut fleet = Fleet::start(&Shape {
        processes: knobs.processes_per_stage,
        concurrency: knobs.concurrency,
        stage_work: Duration::from_millis(knobs.stage_ms_min),
        stage_work_max: Duration::from_millis(knobs.stage_ms_max),
        priority_step_seconds: None,
    })
    .await?;
    anyhow::ensure!(
        PgWork::available(&fleet.env).await,
        "pg_stat_statements is not loaded: run scripts/setup.sh --bench"
    );
    let mut knobs = knobs;
    knobs.autovacuum = voxline_db::ops::autovacuum(&fleet.connections.db).await?;
    eprintln!("fleet_simulation: {knobs:?}");
    let stop = Arc::new(AtomicBool::new(false));
    let mut vacuums = None;
    if !knobs.autovacuum {
        eprintln!("fleet_simulation: autovacuum is off; vacuuming {HOT_TABLES} once a minute");
        let (stop, db) = (stop.clone(), fleet.connections.db.clone());
        vacuums = Some(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_secs(60)).await;
                db.client()
                    .await?
                    .batch_execute(&format!("VACUUM (ANALYZE) {HOT_TABLES}"))
                    .await?;
            }
            anyhow::Ok(())
        }));
    }

    // Jobs arrive at a steady rate, each submitted on its own so a slow one
    // does not hold the pace back.
    let submitter = Submitter::new(&fleet.connections, "fleet").await?;
    let arrivals = {
        let (stop, rate) = (stop.clone(), knobs.jobs_per_second);
        tokio::spawn(async move {
            let started = Instant::now();
            let mut pending = tokio::task::JoinSet::new();
            let mut k = 0u64;
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep_until(
                    (started + Duration::from_secs_f64(k as f64 / rate)).into(),
                )
                .await;
                let s = submitter.clone();
                pending.spawn(async move { s.submit(Priority::Normal, 1, 1).await.map(|_| ()) });
                while let Some(done) = pending.try_join_next() {
                    done??;
                }
                k += 1;
            }
            while let Some(done) = pending.join_next().await {
                done??;
            }
            anyhow::Ok(k)
        })
    };
    // The stages held and waiting, once a second.
    let samples = {
        let (stop, db) = (stop.clone(), fleet.connections.db.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let started = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                let row = db.client().await?.query_one(SAMPLE, &[]).await?;
                let (running, queued): (f64, f64) = (row.get(0), row.get(1));
                samples.push((started.elapsed().as_secs_f64(), running, queued));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            anyhow::Ok(samples)
        })
    };

    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(knobs.warm_seconds)).await;
    eprintln!("fleet_simulation: warm; counting {} s", knobs.seconds);
    let before = Snapshot::take(&mut fleet).await?;
    let window_from = before.taken.duration_since(started).as_secs_f64();
    tokio::time::sleep(Duration::from_secs(knobs.seconds)).await;
    let after = Snapshot::take(&mut fleet).await?;
    let window_to = after.taken.duration_since(started).as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let jobs = arrivals.await??;
    let samples = samples.await??;
    // A stand-in for autovacuum that failed would leave the figures measured
    // on stale plans: say so rather than report them.
    if let Some(vacuums) = vacuums {
        if vacuums.is_finished() {
            vacuums.await??;
        } else {
            vacuums.abort();
        }
    }
    // The window's starts and ends; of the whole run, the runs claimed
    // more than once, their failed attempts and the leases lost under them.
    let runs = fleet
        .connections
        .db
        .client()
        .await?
        .query_one(
            "SELECT count(*) FILTER (WHERE started_at >= $1 AND started_at < $2),
                    count(*) FILTER (WHERE finished_at >= $1 AND finished_at < $2),
                    count(*) FILTER (WHERE attempt > 1),
                    coalesce(sum(failures), 0)::int8, coalesce(sum(lost_leases), 0)::int8
             FROM stage_runs",
            &[&before.at, &after.at],
        )
        .await?;
    let (runs_started, runs_ended): (i64, i64) = (runs.get(0), runs.get(1));
    let (claimed_again, failed_attempts, leases_lost): (i64, i64, i64) =
        (runs.get(2), runs.get(3), runs.get(4));
    let lease = Duration::from_secs(fleet.env.settings.runner.lease_seconds);
    fleet.stop();
    eprintln!("fleet_simulation: {jobs} jobs submitted");

    let seconds = (after.at - before.at).num_microseconds().unwrap_or(0) as f64 / 1e6;
    let window: Vec<&(f64, f64, f64)> = samples
        .iter()
        .filter(|(t, _, _)| *t >= window_from && *t <= window_to)
        .collect();
    let mean = |f: fn(&(f64, f64, f64)) -> f64| {
        window.iter().map(|s| f(s)).sum::<f64>() / window.len().max(1) as f64
    };
    let statements = by_statement(&before.statements, &after.statements, seconds)?;
    let named = |name: &str| statements.iter().find(|s| s.name == name);
    let renewals = named("workers/renew");
    let pg = after.pg.since(before.pg);
    let (lo, hi) = (
        knobs.stage_ms_min as f64 / 1e3,
        knobs.stage_ms_max as f64 / 1e3,
    );
    let mean_stage = if hi > lo {
        (hi - lo) / (hi / lo).ln()
    } else {
        lo
    };
    let transitions = knobs.jobs_per_second * STAGES.len() as f64;
    let processes = (knobs.processes_per_stage * STAGES.len()) as f64;
    let every = (lease / 3).min(Duration::from_secs(1)).as_secs_f64();
    let report = Report {
        model: Model {
            stages_in_flight: transitions * mean_stage,
            renewals_per_second: processes / every,
            runs_started_per_second: transitions,
            runs_ended_per_second: transitions,
            held_runs_checked_per_second: transitions * mean_stage / every,
        },
        measured: Measured {
            stages_in_flight_mean: mean(|s| s.1),
            stages_in_flight_max: window.iter().map(|s| s.1).fold(0.0, f64::max),
            queued_mean: mean(|s| s.2),
            renewals_per_second: renewals.map_or(0.0, |s| s.calls_per_second),
            renewal_us: renewals.map_or(0.0, |s| s.us_per_call),
            runs_started_per_second: runs_started as f64 / seconds,
            runs_ended_per_second: runs_ended as f64 / seconds,
            claim_statements_per_second: named("runs/claim").map_or(0.0, |s| s.calls_per_second),
            outcome_statements_per_second: named("runs/apply").map_or(0.0, |s| s.calls_per_second),
            statements_per_second: statements.iter().map(|s| s.calls_per_second).sum(),
            commits_per_second: pg.commits / seconds,
            postgres_cpu_percent: 100.0 * pg.cpu_seconds / seconds,
            postgres_cpu_ms_per_job: 1e3 * pg.cpu_seconds / seconds / knobs.jobs_per_second,
            workers_cpu_percent: 100.0 * (after.workers_cpu - before.workers_cpu) / seconds,
            redis_cpu_percent: 100.0 * (after.redis_cpu - before.redis_cpu) / seconds,
            runs_claimed_again: claimed_again,
            failed_attempts,
            leases_lost,
        },
        statements,
        knobs,
    };
    print(&report);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::create_dir_all(root.join("target/bench"))?;
    std::fs::write(
        root.join("target/bench/fleet_simulation.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    println!("figures: target/bench/fleet_simulation.json");
    Ok(())
}

/// The statements run between two snapshots, named by their file under
/// `crates/db/queries/` (others by their first words), busiest first; the
/// sampler's own left out.
fn by_statement(
    before: &[StatementWork],
    after: &[StatementWork],
    seconds: f64,
) -> anyhow::Result<Vec<Statement>> {
    let files = query_files()?;
    let name_of = |text: &str| {
        let text = text.trim();
        files
            .iter()
            .find(|(_, sql)| text == sql.as_str() || text.starts_with(&sql[..sql.len().min(200)]))
            .map_or_else(
                || {
                    text.split_whitespace()
                        .take(6)
                        .collect::<Vec<_>>()
                        .join(" ")
                },
                |(name, _)| name.clone(),
            )
    };
    let earlier: BTreeMap<&str, &StatementWork> =
        before.iter().map(|s| (s.query.as_str(), s)).collect();
    let mut named: BTreeMap<String, StatementWork> = BTreeMap::new();
    for s in after.iter().filter(|s| !s.query.contains("fleet sampler")) {
        let zero = StatementWork::default();
        let b = earlier.get(s.query.as_str()).copied().unwrap_or(&zero);
        let e = named.entry(name_of(&s.query)).or_default();
        e.calls += s.calls - b.calls;
        e.exec_ms += s.exec_ms - b.exec_ms;
        e.rows += s.rows - b.rows;
    }
    let mut out: Vec<Statement> = named
        .into_iter()
        .filter(|(_, w)| w.calls > 0.0)
        .map(|(name, w)| Statement {
            name,
            calls_per_second: w.calls / seconds,
            us_per_call: 1e3 * w.exec_ms / w.calls,
            rows_per_call: w.rows / w.calls,
        })
        .collect();
    out.sort_by(|a, b| b.calls_per_second.total_cmp(&a.calls_per_second));
    Ok(out)
}

/// Every statement of `crates/db/queries/`: (`folder/file` without `.sql`, text).
fn query_files() -> anyhow::Result<Vec<(String, String)>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../db/queries");
    let mut out = Vec::new();
    for folder in std::fs::read_dir(&root)? {
        let folder = folder?.path();
        for file in std::fs::read_dir(&folder)? {
            let file = file?.path();
            if file.extension().is_some_and(|e| e == "sql") {
                let name = format!(
                    "{}/{}",
                    folder.file_name().unwrap_or_default().to_string_lossy(),
                    file.file_stem().unwrap_or_default().to_string_lossy()
                );
                out.push((name, std::fs::read_to_string(&file)?.trim().to_owned()));
            }
        }
    }
    Ok(out)
}

fn print(r: &Report) {
    let (m, x) = (&r.model, &r.measured);
    println!(
        "fleet: {} worker processes ({} per stage, up to {} stages each), stages of {}–{} s, {} jobs/s; counted over {} s; {}",
        r.knobs.processes_per_stage * STAGES.len(),
        r.knobs.processes_per_stage,
        r.knobs.concurrency,
        r.knobs.stage_ms_min as f64 / 1e3,
        r.knobs.stage_ms_max as f64 / 1e3,
        r.knobs.jobs_per_second,
        r.knobs.seconds,
        if r.knobs.autovacuum {
            "autovacuum on"
        } else {
            "autovacuum off, the hot tables vacuumed once a minute in its stead"
        }
    );
    println!("| what | model | measured |");
    println!("|---|---|---|");
    println!(
        "| stages in flight | {:.0} | {:.0} (mean), {:.0} (most); {:.1} waiting |",
        m.stages_in_flight, x.stages_in_flight_mean, x.stages_in_flight_max, x.queued_mean
    );
    println!(
        "| lease renewals a second | {:.1} | {:.1}, {:.0} µs each |",
        m.renewals_per_second, x.renewals_per_second, x.renewal_us
    );
    println!(
        "| held runs checked by renewals a second | {:.0} | {:.0} (stages in flight over the interval) |",
        m.held_runs_checked_per_second,
        x.stages_in_flight_mean * m.renewals_per_second
            / (r.knobs.processes_per_stage * STAGES.len()) as f64
    );
    println!(
        "| runs started a second | {:.1} | {:.1}, in {:.1} claim statements |",
        m.runs_started_per_second, x.runs_started_per_second, x.claim_statements_per_second
    );
    println!(
        "| runs ended a second | {:.1} | {:.1}, in {:.1} outcome statements |",
        m.runs_ended_per_second, x.runs_ended_per_second, x.outcome_statements_per_second
    );
    println!(
        "| statements a second, all | | {:.1} |",
        x.statements_per_second
    );
    println!("| commits a second | | {:.1} |", x.commits_per_second);
    println!(
        "| PostgreSQL CPU | | {:.1} % of a core, {:.2} ms a job |",
        x.postgres_cpu_percent, x.postgres_cpu_ms_per_job
    );
    println!(
        "| workers' CPU, Redis's CPU | | {:.1} %, {:.1} % of a core |",
        x.workers_cpu_percent, x.redis_cpu_percent
    );
    println!(
        "| runs claimed more than once, failed attempts, leases lost (whole run) | 0, 0, 0 | {}, {}, {} |",
        x.runs_claimed_again, x.failed_attempts, x.leases_lost
    );
    println!();
    println!("| statement | a second | µs each | rows each |");
    println!("|---|---|---|---|");
    for s in &r.statements {
        println!(
            "| {} | {:.2} | {:.0} | {:.1} |",
            s.name, s.calls_per_second, s.us_per_call, s.rows_per_call
        );
    }
}
