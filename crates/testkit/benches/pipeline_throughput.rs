//! Pipeline throughput, side by side with what users would pick instead:
//! a job is five chained stages whose engines do nothing, one target
//! language, N jobs submitted at once, on the same Redis:
//!
//! - Voxline: the real runner (a claim and a fenced outcome per stage, in
//!   batches, under the process's lease) with no-op stage handlers, each
//!   stage its own worker processes running up to `VOXLINE_BENCH_CONCURRENCY`
//!   (64) stages at once, and the janitor; every transition durable in
//!   PostgreSQL (`synchronous_commit` on) before its delivery is settled;
//! - bare apalis-redis: the same five queues and apalis settings, each step
//!   pushing the next, nothing else (the floor of Voxline's overhead);
//! - a Celery chain and a BullMQ flow of five no-op steps
//!   (bench/peers/, installed from PyPI and npm by bench/peers/setup.sh);
//!   BullMQ twice: with its default concurrency of 1 per worker, and with
//!   Voxline's.
//!
//! Jobs are submitted by 32 concurrent clients (as the BullMQ peer does),
//! and each job's end is told by its last step on a Redis list (as the
//! peers tell theirs). PostgreSQL's work per job is counted:
//! pg_stat_statements' calls (BEGIN and COMMIT included) and
//! pg_stat_database's commits, for Voxline's database only (scripts/setup.sh
//! --bench loads pg_stat_statements).
//!
//! Each runs with 1, 2 and 4 processes per stage. Reported: completed
//! jobs/s, stage executions/s, p50/p99 end-to-end latency, and CPU per job
//! (the workers', Redis's and PostgreSQL's), and statements and commits per
//! job. The table goes to stdout, the
//! figures to target/bench/pipeline.json, and the plots to docs/plots/.
//!
//! `make bench` (it builds the release binaries first), or
//! `cargo bench -p voxline-testkit --bench pipeline_throughput`.
//! `VOXLINE_BENCH_JOBS` (2000), `VOXLINE_BENCH_PROCESSES` ("1,2,4") and
//! `VOXLINE_BENCH_SYSTEMS` ("voxline,apalis,celery,bullmq") narrow it.

use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apalis::layers::WorkerBuilderExt;
use apalis::prelude::{BoxDynError, Data, TaskSink, WorkerBuilder};
use apalis_redis::{ConnectionManager, RedisStorage};
use serde::{Deserialize, Serialize};
use voxline_core::{Priority, Stage};

/// The bare apalis-redis peer's queue settings: its queues named as
/// Voxline's were, one message per fetch, a heartbeat a second.
fn queue_config(namespace: &str, stage: Stage) -> apalis_redis::Config {
    apalis_redis::Config::default()
        .queue(format!("{namespace}:stage:{}", stage.as_str()))
        .batch_size(1)
        .heartbeat_interval(Duration::from_secs(1))
        .missed_heartbeats(15)
        .persist_results(false)
        .emit_events(false)
}
use voxline_testkit::pipeline::{self, Fleet, PgWork, STAGES, Shape, Submitter};
use voxline_testkit::plot::{Group, grouped_bars};
use voxline_testkit::procfs::{cpu_seconds, redis_cpu_seconds};
use voxline_testkit::redis_url;
use voxline_testkit::stats::percentile_ms;

/// Clients submitting jobs at once, as the BullMQ peer's submitter does.
const LANES: usize = 32;

/// Set in the floor's child processes: which step this process is.
const FLOOR: &str = "VOXLINE_BENCH_FLOOR";

/// One system's run.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Run {
    system: String,
    #[serde(default)]
    version: String,
    processes_per_step: usize,
    jobs: usize,
    seconds: f64,
    jobs_per_s: f64,
    stage_execs_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_s_per_job: f64,
    redis_cpu_s_per_job: f64,
    #[serde(default)]
    db_cpu_s_per_job: f64,
    #[serde(default = "one")]
    concurrency: usize,
    #[serde(default)]
    statements_per_job: Option<f64>,
    #[serde(default)]
    commits_per_job: Option<f64>,
}

fn one() -> usize {
    1
}

/// The floor's message: the job and when it was submitted.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Step {
    job: u64,
    submitted_ms: u64,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn main() -> anyhow::Result<()> {
    if pipeline::child_main()? {
        return Ok(());
    }
    let runtime = tokio::runtime::Runtime::new()?;
    match std::env::var(FLOOR) {
        Ok(role) => runtime.block_on(floor_child(&role)),
        Err(_) => runtime.block_on(compare()),
    }
}

/// A process of the floor: `<step> <namespace>`.
async fn floor_child(role: &str) -> anyhow::Result<()> {
    match role.split_whitespace().collect::<Vec<_>>().as_slice() {
        [step, namespace] => floor_step(step.parse()?, namespace).await,
        _ => anyhow::bail!("unknown role {role}"),
    }
}

/// One step of the bare apalis-redis chain: take a message, push it to the
/// next step's queue, or record its completion after the last.
async fn floor_step(step: usize, namespace: &str) -> anyhow::Result<()> {
    let conn = redis::Client::open(redis_url())?
        .get_connection_manager()
        .await?;
    let storage =
        RedisStorage::<Step>::new(conn.clone()).with_config(queue_config(namespace, STAGES[step]));
    let next = STAGES.get(step + 1).map(|stage| {
        RedisStorage::<Step>::new(conn.clone()).with_config(queue_config(namespace, *stage))
    });
    let ctx = Arc::new(FloorContext {
        next: tokio::sync::Mutex::new(next),
        conn,
        done: format!("{namespace}:done"),
    });
    let name = format!("floor-{step}-{}", uuid::Uuid::new_v4().simple());
    let worker = WorkerBuilder::new(name)
        .backend(storage)
        .data(ctx)
        .concurrency(1)
        .build(floor_handle);
    let term = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        term.recv().await;
        Ok::<(), std::io::Error>(())
    };
    worker.run_until(term).await?;
    Ok(())
}

struct FloorContext {
    next: tokio::sync::Mutex<Option<RedisStorage<Step>>>,
    conn: ConnectionManager,
    done: String,
}

async fn floor_handle(message: Step, ctx: Data<Arc<FloorContext>>) -> Result<(), BoxDynError> {
    match ctx.next.lock().await.as_mut() {
        Some(next) => next.push(message).await?,
        None => {
            let mut conn = ctx.conn.clone();
            let _: () = redis::cmd("RPUSH")
                .arg(&ctx.done)
                .arg(format!("{} {}", message.submitted_ms, now_ms()))
                .query_async(&mut conn)
                .await?;
        }
    }
    Ok(())
}

/// The processes of one system's run, killed when dropped.
struct Processes(Vec<Child>);

impl Processes {
    fn cpu_seconds(&self) -> f64 {
        self.0.iter().map(|c| cpu_seconds(c.id())).sum()
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        for child in &mut self.0 {
            let _ = child.wait();
        }
    }
}

fn spawn_floor(role: &str) -> anyhow::Result<Child> {
    Ok(Command::new(std::env::current_exe()?)
        .env(FLOOR, role)
        .stdout(std::process::Stdio::null())
        .spawn()?)
}

/// Voxline with `processes` no-op workers per stage and the janitor.
async fn voxline(jobs: usize, processes: usize, concurrency: usize) -> anyhow::Result<Run> {
    let shape = Shape {
        processes,
        concurrency,
        stage_work: Duration::ZERO,
        stage_work_max: Duration::ZERO,
        priority_step_seconds: None,
    };
    let mut fleet = Fleet::start(&shape).await?;
    let counted = PgWork::available(&fleet.env).await;
    // Warm: every connection open, every statement prepared.
    let submitter = Submitter::new(&fleet.connections, "bench").await?;
    submitter.submit(Priority::Normal, 50, LANES).await?;
    fleet.wait_done(50, Duration::from_secs(60)).await?;
    fleet.clear_done().await?;
    // Statistics of busy backends reach PostgreSQL's counters within a second.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu0, redis0, pg0) = (
        fleet.cpu_seconds(),
        fleet.redis_cpu_seconds().await,
        PgWork::now(&fleet.env).await?,
    );
    let submitted = submitter.submit(Priority::Normal, jobs, LANES).await?;
    fleet.wait_done(jobs, Duration::from_secs(1800)).await?;
    let (cpu, redis_cpu) = (
        fleet.cpu_seconds() - cpu0,
        fleet.redis_cpu_seconds().await - redis0,
    );
    let done = fleet.done().await?;
    // The workers' connections close: PostgreSQL has counted all they did.
    fleet.stop();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pg = PgWork::now(&fleet.env).await?.since(pg0);
    let start = submitted.values().copied().fold(f64::INFINITY, f64::min);
    let end = done.iter().map(|(_, at)| *at).fold(0.0, f64::max);
    let latencies: Vec<Duration> = done
        .iter()
        .filter_map(|(job, at)| {
            let from = submitted.get(job)?;
            Some(Duration::from_secs_f64(((at - from) / 1000.0).max(0.0)))
        })
        .collect();
    anyhow::ensure!(
        latencies.len() == jobs,
        "{} of {jobs} jobs done",
        latencies.len()
    );
    let mut r = run(
        "voxline",
        processes,
        jobs,
        (end - start) / 1000.0,
        &latencies,
        cpu,
        redis_cpu,
        pg.cpu_seconds,
    );
    r.concurrency = concurrency;
    if counted {
        r.statements_per_job = Some(pg.statements / jobs as f64);
        r.commits_per_job = Some(pg.commits / jobs as f64);
    }
    Ok(r)
}

/// Bare apalis-redis: the same queues and settings, no PostgreSQL.
async fn apalis_floor(jobs: usize, processes: usize) -> anyhow::Result<Run> {
    let namespace = format!(
        "bench-floor-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let mut children = Vec::new();
    for step in 0..STAGES.len() {
        for _ in 0..processes {
            children.push(spawn_floor(&format!("{step} {namespace}"))?);
        }
    }
    let children = Processes(children);
    let conn = redis::Client::open(redis_url())?
        .get_connection_manager()
        .await?;
    let mut redis = conn.clone();
    // Warm: every step's workers heartbeating.
    let deadline = Instant::now() + Duration::from_secs(60);
    for stage in STAGES {
        let workers = queue_config(&namespace, stage).workers_set();
        loop {
            let n: u64 = redis::cmd("ZCARD")
                .arg(&workers)
                .query_async(&mut redis)
                .await?;
            if n >= processes as u64 {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{stage} floor workers did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let (cpu0, redis0) = (children.cpu_seconds(), redis_cpu_seconds(&mut redis).await);
    let started = Instant::now();
    let mut first =
        RedisStorage::<Step>::new(conn.clone()).with_config(queue_config(&namespace, STAGES[0]));
    let start_ms = now_ms();
    for job in 0..jobs as u64 {
        first
            .push(Step {
                job,
                submitted_ms: now_ms(),
            })
            .await?;
    }
    let done = format!("{namespace}:done");
    loop {
        let n: usize = redis::cmd("LLEN")
            .arg(&done)
            .query_async(&mut redis)
            .await?;
        if n >= jobs {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "the floor did not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (cpu, redis_cpu) = (
        children.cpu_seconds() - cpu0,
        redis_cpu_seconds(&mut redis).await - redis0,
    );
    let entries: Vec<String> = redis::cmd("LRANGE")
        .arg(&done)
        .arg(0)
        .arg(-1)
        .query_async(&mut redis)
        .await?;
    let mut last_ms = start_ms;
    let latencies: Vec<Duration> = entries
        .iter()
        .filter_map(|e| {
            let (submitted, finished) = e.split_once(' ')?;
            let (submitted, finished): (u64, u64) =
                (submitted.parse().ok()?, finished.parse().ok()?);
            last_ms = last_ms.max(finished);
            Some(Duration::from_millis(finished.saturating_sub(submitted)))
        })
        .collect();
    drop(children);
    voxline_testkit::wipe_redis(&namespace).await?;
    let seconds = (last_ms - start_ms) as f64 / 1000.0;
    Ok(run(
        "apalis-redis",
        processes,
        jobs,
        seconds,
        &latencies,
        cpu,
        redis_cpu,
        0.0,
    ))
}

/// A peer system's program under bench/peers, which prints one JSON line.
/// A peer system's program under bench/peers. `bullmq-c` is BullMQ with
/// Voxline's concurrency per worker process (`bullmq`, its default of 1).
fn peer(system: &str, jobs: usize, processes: usize, concurrency: usize) -> anyhow::Result<Run> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (program, script, concurrency) = match system {
        "celery" => (
            "target/tools/bench-venv/bin/python",
            "bench/peers/celery_chain.py",
            None,
        ),
        "bullmq" => ("node", "bench/peers/bullmq_flow.mjs", Some(1)),
        "bullmq-c" => ("node", "bench/peers/bullmq_flow.mjs", Some(concurrency)),
        _ => anyhow::bail!("unknown peer {system}"),
    };
    let prefix = format!(
        "bench-{system}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let output = Command::new(root.join(program).canonicalize().unwrap_or(program.into()))
        .current_dir(&root)
        .arg(script)
        .args(["--redis-url", &redis_url(), "--prefix", &prefix])
        .args([
            "--jobs",
            &jobs.to_string(),
            "--processes",
            &processes.to_string(),
        ])
        .args(
            concurrency
                .map(|c| vec!["--concurrency".to_owned(), c.to_string()])
                .unwrap_or_default(),
        )
        .stderr(std::process::Stdio::inherit())
        .output()?;
    anyhow::ensure!(output.status.success(), "{script} failed");
    let line = String::from_utf8(output.stdout)?;
    let mut run: Run = serde_json::from_str(line.lines().last().unwrap_or_default())?;
    run.system = system.to_owned();
    run.concurrency = concurrency.unwrap_or(1);
    Ok(run)
}

#[allow(clippy::too_many_arguments)]
fn run(
    system: &str,
    processes: usize,
    jobs: usize,
    seconds: f64,
    latencies: &[Duration],
    cpu: f64,
    redis_cpu: f64,
    db_cpu: f64,
) -> Run {
    let per_job = |v: f64| v / jobs as f64;
    Run {
        system: system.to_owned(),
        version: match system {
            "voxline" => env!("CARGO_PKG_VERSION").to_owned(),
            _ => "1.0".to_owned(),
        },
        processes_per_step: processes,
        jobs,
        seconds,
        jobs_per_s: jobs as f64 / seconds,
        stage_execs_per_s: (jobs * STAGES.len()) as f64 / seconds,
        p50_ms: percentile_ms(latencies, 0.5),
        p99_ms: percentile_ms(latencies, 0.99),
        cpu_s_per_job: per_job(cpu),
        redis_cpu_s_per_job: per_job(redis_cpu),
        db_cpu_s_per_job: per_job(db_cpu),
        concurrency: 1,
        statements_per_job: None,
        commits_per_job: None,
    }
}

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

async fn compare() -> anyhow::Result<()> {
    let jobs: usize = std::env::var("VOXLINE_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let processes: Vec<usize> = env_list("VOXLINE_BENCH_PROCESSES", "1,2,4")
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect();
    let systems = env_list(
        "VOXLINE_BENCH_SYSTEMS",
        "voxline,apalis,celery,bullmq,bullmq-c",
    );
    let concurrency: usize = std::env::var("VOXLINE_BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    if systems.iter().any(|s| s != "voxline" && s != "apalis") {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let setup = Command::new("bash")
            .arg(root.join("bench/peers/setup.sh"))
            .status()?;
        anyhow::ensure!(setup.success(), "bench/peers/setup.sh failed");
    }
    let mut runs = Vec::new();
    for &p in &processes {
        for system in &systems {
            eprintln!("pipeline_throughput: {system}, {p} process(es) per step, {jobs} jobs");
            let run = match system.as_str() {
                "voxline" => voxline(jobs, p, concurrency).await?,
                "apalis" => apalis_floor(jobs, p).await?,
                peer_system => peer(peer_system, jobs, p, concurrency)?,
            };
            runs.push(run);
        }
    }
    report(&runs, &systems, &processes)
}

fn report(runs: &[Run], systems: &[String], processes: &[usize]) -> anyhow::Result<()> {
    println!(
        "| system | processes per step | concurrency | jobs/s | stage executions/s | p50 ms | p99 ms | worker CPU s/job | Redis CPU s/job | PostgreSQL CPU s/job | statements/job | commits/job |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let count = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.2}"));
    for r in runs {
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.0} | {:.0} | {:.4} | {:.4} | {:.4} | {} | {} |",
            display_name(&r.system),
            r.processes_per_step,
            r.concurrency,
            r.jobs_per_s,
            r.stage_execs_per_s,
            r.p50_ms,
            r.p99_ms,
            r.cpu_s_per_job,
            r.redis_cpu_s_per_job,
            r.db_cpu_s_per_job,
            count(r.statements_per_job),
            count(r.commits_per_job),
        );
    }
    // Voxline against each other system, at each process count.
    for &p in processes {
        let Some(ours) = runs
            .iter()
            .find(|r| r.system == "voxline" && r.processes_per_step == p)
        else {
            continue;
        };
        for other in runs
            .iter()
            .filter(|r| r.system != "voxline" && r.processes_per_step == p)
        {
            println!(
                "ratio at {p} per step: {} does {:.2}x Voxline's jobs/s at {:.2}x its worker CPU per job",
                other.system,
                other.jobs_per_s / ours.jobs_per_s,
                other.cpu_s_per_job / ours.cpu_s_per_job
            );
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::create_dir_all(root.join("target/bench"))?;
    std::fs::write(
        root.join("target/bench/pipeline.json"),
        serde_json::to_string_pretty(runs)?,
    )?;
    let series: Vec<&str> = systems.iter().map(|s| display_name(s)).collect();
    let groups = |value: fn(&Run) -> f64| -> Vec<Group> {
        processes
            .iter()
            .map(|&p| Group {
                label: format!("{p} per step"),
                values: systems
                    .iter()
                    .map(|s| {
                        runs.iter()
                            .find(|r| {
                                display_name(&r.system) == display_name(s)
                                    && r.processes_per_step == p
                            })
                            .map_or(0.0, value)
                    })
                    .collect(),
            })
            .collect()
    };
    std::fs::create_dir_all(root.join("docs/plots"))?;
    std::fs::write(
        root.join("docs/plots/pipeline-throughput.svg"),
        grouped_bars(
            "Five no-op stages a job: completed jobs per second",
            "jobs/s",
            &series,
            &groups(|r| r.jobs_per_s),
        ),
    )?;
    std::fs::write(
        root.join("docs/plots/pipeline-latency.svg"),
        grouped_bars(
            "End-to-end latency, p99 (all jobs submitted at once)",
            "milliseconds",
            &series,
            &groups(|r| r.p99_ms),
        ),
    )?;
    println!("figures: target/bench/pipeline.json; plots: docs/plots/pipeline-*.svg");
    Ok(())
}

fn display_name(system: &str) -> &str {
    match system {
        "apalis" | "apalis-redis" => "apalis-redis",
        "bullmq-c" => "BullMQ (Voxline's concurrency)",
        "bullmq" => "BullMQ",
        "celery" => "Celery",
        "voxline" => "Voxline",
        other => other,
    }
}
