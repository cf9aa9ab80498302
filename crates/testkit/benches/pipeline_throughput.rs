//! Pipeline throughput, side by side with what users would pick instead:
//! a job is five chained stages whose engines do nothing, one target
//! language, N jobs submitted at once, on the same Redis:
//!
//! - Voxline: the real runner (lease, heartbeat, fenced commit, outbox)
//!   with no-op stage handlers, each stage its own worker processes, and
//!   the janitor; every transition durable in PostgreSQL;
//! - bare apalis-redis: the same five queues and apalis settings, each step
//!   pushing the next, nothing else (the floor of Voxline's overhead);
//! - a Celery chain and a BullMQ flow of five no-op steps
//!   (bench/peers/, installed from PyPI and npm by bench/peers/setup.sh).
//!
//! Each runs with 1, 2 and 4 processes per stage. Reported: completed
//! jobs/s, stage executions/s, p50/p99 end-to-end latency, and CPU per job
//! (the workers', Redis's and PostgreSQL's). The table goes to stdout, the
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
use voxline_config::Settings;
use voxline_core::{JobKind, Stage};
use voxline_db::runs::Completion;
use voxline_worker::{Connections, StageContext, StageError, StageHandler};

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
use voxline_testkit::plot::{Group, grouped_bars};
use voxline_testkit::procfs::{cpu_seconds, cpu_seconds_of_command, redis_cpu_seconds};
use voxline_testkit::seed::{placeholder_upload, seeded_job};
use voxline_testkit::stats::percentile_ms;
use voxline_testkit::{TestEnv, binary, redis_url};

const STAGES: [Stage; 5] = [
    Stage::Transcribe,
    Stage::Translate,
    Stage::Synthesize,
    Stage::Render,
    Stage::Publish,
];
/// Set in the child processes: which worker this process is.
const ROLE: &str = "VOXLINE_BENCH_ROLE";

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
}

/// A stage that does nothing: what is left is Voxline's own path.
struct Noop(Stage);

#[async_trait::async_trait]
impl StageHandler for Noop {
    fn stage(&self) -> Stage {
        self.0
    }

    async fn run(&self, _ctx: &StageContext) -> Result<Completion, StageError> {
        Ok(Completion::default())
    }
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
    let runtime = tokio::runtime::Runtime::new()?;
    match std::env::var(ROLE) {
        Ok(role) => runtime.block_on(child(&role)),
        Err(_) => runtime.block_on(compare()),
    }
}

/// A worker process: `voxline <stage>` or `apalis <step> <namespace>`.
async fn child(role: &str) -> anyhow::Result<()> {
    let words: Vec<&str> = role.split_whitespace().collect();
    match words.as_slice() {
        ["voxline", stage] => {
            let settings = Settings::load(None)?;
            // Traced and metered as in production (no exporter, no scrape).
            let _telemetry = voxline_telemetry::init(&settings, "bench-worker");
            let stage = Stage::parse(stage)?;
            voxline_worker::run_service(settings, "bench", Arc::new(Noop(stage))).await?;
        }
        ["apalis", step, namespace] => floor_step(step.parse()?, namespace).await?,
        _ => anyhow::bail!("unknown role {role}"),
    }
    Ok(())
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

fn spawn_role(role: &str, vars: &[(String, String)]) -> anyhow::Result<Child> {
    Ok(Command::new(std::env::current_exe()?)
        .env(ROLE, role)
        .envs(vars.iter().cloned())
        .stdout(std::process::Stdio::null())
        .spawn()?)
}

/// Voxline with `processes` no-op workers per stage and the janitor.
async fn voxline(jobs: usize, processes: usize) -> anyhow::Result<Run> {
    let env = TestEnv::new().await?;
    let s = &env.settings;
    let vars: Vec<(String, String)> = [
        ("VOXLINE__DATABASE__URL", s.database.url.expose().to_owned()),
        ("VOXLINE__DATABASE__POOL_SIZE", "4".to_owned()),
        ("VOXLINE__DATABASE__MIGRATE_ON_START", "false".to_owned()),
        ("VOXLINE__REDIS__NAMESPACE", s.redis.namespace.clone()),
        (
            "VOXLINE__STORAGE__LOCAL_ROOT",
            s.storage.local_root.display().to_string(),
        ),
        ("VOXLINE__TELEMETRY__OPS_BIND", String::new()),
        ("VOXLINE__TELEMETRY__LOG_FILTER", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut children = Vec::new();
    for stage in STAGES {
        for _ in 0..processes {
            children.push(spawn_role(&format!("voxline {}", stage.as_str()), &vars)?);
        }
    }
    children.push(
        Command::new(binary("voxline-janitor"))
            .envs(vars.iter().cloned())
            .spawn()?,
    );
    let children = Processes(children);
    let dispatcher = Connections::open(s).await?;
    // Warm: every worker heartbeating.
    let deadline = Instant::now() + Duration::from_secs(60);
    for stage in STAGES {
        while (voxline_db::workers::alive(&dispatcher.db, stage)
            .await?
            .len() as u64)
            < processes as u64
        {
            anyhow::ensure!(Instant::now() < deadline, "{stage} workers did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let upload = placeholder_upload(&env.db, "bench").await?;
    let mut redis = redis::Client::open(redis_url())?
        .get_multiplexed_async_connection()
        .await?;
    let (cpu0, redis0, db0) = (
        children.cpu_seconds(),
        redis_cpu_seconds(&mut redis).await,
        cpu_seconds_of_command("postgres"),
    );
    for _ in 0..jobs {
        let created = seeded_job(&env.db, &upload, JobKind::Dub, &["es"], true, 4).await?;
        dispatcher.queue.push(&created.dispatch).await?;
    }
    let client = env.db.client().await?;
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let row = client
            .query_one(
                "SELECT count(*) FILTER (WHERE status = 'completed'),
                        count(*) FILTER (WHERE status IN ('failed', 'cancelled'))
                 FROM jobs",
                &[],
            )
            .await?;
        let (completed, failed): (i64, i64) = (row.get(0), row.get(1));
        anyhow::ensure!(failed == 0, "{failed} jobs failed");
        if completed as usize == jobs {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the jobs did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (cpu, redis_cpu, db_cpu) = (
        children.cpu_seconds() - cpu0,
        redis_cpu_seconds(&mut redis).await - redis0,
        cpu_seconds_of_command("postgres") - db0,
    );
    let rows = client
        .query(
            "SELECT extract(epoch FROM finished_at - created_at)::float8,
                    extract(epoch FROM max(finished_at) OVER () - min(created_at) OVER ())::float8
             FROM jobs",
            &[],
        )
        .await?;
    let latencies: Vec<Duration> = rows
        .iter()
        .map(|r| Duration::from_secs_f64(r.get::<_, f64>(0).max(0.0)))
        .collect();
    let seconds: f64 = rows.first().map_or(0.0, |r| r.get(1));
    drop(children);
    Ok(run(
        "voxline", processes, jobs, seconds, &latencies, cpu, redis_cpu, db_cpu,
    ))
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
            children.push(spawn_role(&format!("apalis {step} {namespace}"), &[])?);
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
fn peer(system: &str, jobs: usize, processes: usize) -> anyhow::Result<Run> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (program, script) = match system {
        "celery" => (
            "target/tools/bench-venv/bin/python",
            "bench/peers/celery_chain.py",
        ),
        "bullmq" => ("node", "bench/peers/bullmq_flow.mjs"),
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
        .stderr(std::process::Stdio::inherit())
        .output()?;
    anyhow::ensure!(output.status.success(), "{script} failed");
    let line = String::from_utf8(output.stdout)?;
    let mut run: Run = serde_json::from_str(line.lines().last().unwrap_or_default())?;
    run.system = system.to_owned();
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
    let systems = env_list("VOXLINE_BENCH_SYSTEMS", "voxline,apalis,celery,bullmq");
    if systems.iter().any(|s| s == "celery" || s == "bullmq") {
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
                "voxline" => voxline(jobs, p).await?,
                "apalis" => apalis_floor(jobs, p).await?,
                peer_system => peer(peer_system, jobs, p)?,
            };
            runs.push(run);
        }
    }
    report(&runs, &systems, &processes)
}

fn report(runs: &[Run], systems: &[String], processes: &[usize]) -> anyhow::Result<()> {
    println!(
        "| system | processes per step | jobs/s | stage executions/s | p50 ms | p99 ms | worker CPU s/job | Redis CPU s/job | PostgreSQL CPU s/job |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in runs {
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.0} | {:.0} | {:.4} | {:.4} | {:.4} |",
            r.system,
            r.processes_per_step,
            r.jobs_per_s,
            r.stage_execs_per_s,
            r.p50_ms,
            r.p99_ms,
            r.cpu_s_per_job,
            r.redis_cpu_s_per_job,
            r.db_cpu_s_per_job
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
        other => other,
    }
}
