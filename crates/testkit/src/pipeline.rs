//! What the pipeline benchmarks share: Voxline's real runner with stages
//! that do nothing (or wait a set time), each stage its own worker
//! processes plus the janitor, a submitter that creates jobs as concurrent
//! clients do, the completion of every job told through Redis (as the
//! peers tell theirs), and the work PostgreSQL did, counted.
//!
//! A benchmark binary calls [`child_main`] first: the worker processes are
//! the benchmark binary itself, started with a role in `VOXLINE_BENCH_ROLE`.

use std::collections::HashMap;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use voxline_config::Settings;
use voxline_core::{JobId, JobKind, Priority, Stage};
use voxline_db::runs::Completion;
use voxline_worker::{Connections, StageContext, StageError, StageHandler};

use crate::procfs::{cpu_seconds, cpu_seconds_of_command, redis_cpu_seconds};
use crate::{TestEnv, binary, redis_url};

/// The five stages of a publishing dub, in order.
pub const STAGES: [Stage; 5] = [
    Stage::Transcribe,
    Stage::Translate,
    Stage::Synthesize,
    Stage::Render,
    Stage::Publish,
];

/// Set in the child processes: which worker this process is.
const ROLE: &str = "VOXLINE_BENCH_ROLE";
/// How long each stage of the child workers takes, in milliseconds.
const STAGE_MS: &str = "VOXLINE_BENCH_STAGE_MS";
/// When set above [`STAGE_MS`], each run takes between the two instead: a
/// duration drawn from the run's id, log-uniformly (as many runs between 1
/// and 10 s as between 10 and 100 s).
const STAGE_MS_MAX: &str = "VOXLINE_BENCH_STAGE_MS_MAX";

/// The Redis list the last stage tells each finished job on.
fn done_key(namespace: &str) -> String {
    format!("{namespace}:bench:done")
}

fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// A stage that waits `work` (nothing, by default; up to `work_max` when
/// that is longer) and notes when it became ready, started and ended in its
/// output; the last stage tells the job's end on Redis.
pub struct BenchStage {
    stage: Stage,
    work: Duration,
    work_max: Duration,
    done: Option<(redis::aio::ConnectionManager, String)>,
}

impl BenchStage {
    /// How long `run` takes: `work`, or, with a longer `work_max`, a
    /// duration between the two drawn from the run's id (the same each
    /// attempt), log-uniformly.
    fn work_of(&self, run: voxline_core::StageRunId) -> Duration {
        if self.work_max <= self.work || self.work.is_zero() {
            return self.work;
        }
        // splitmix64 over the id's low bits, which are random in every
        // id this system makes.
        let mut x = run.0.as_u128() as u64;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
        let u = (x >> 11) as f64 / (1u64 << 53) as f64;
        let ratio = self.work_max.as_secs_f64() / self.work.as_secs_f64();
        self.work.mul_f64(ratio.powf(u))
    }
}

#[async_trait::async_trait]
impl StageHandler for BenchStage {
    fn stage(&self) -> Stage {
        self.stage
    }

    async fn run(&self, ctx: &StageContext) -> Result<Completion, StageError> {
        let started = now_ms();
        let work = self.work_of(ctx.claimed.lease.run_id);
        if !work.is_zero() {
            tokio::time::sleep(work).await;
        }
        if let Some((conn, key)) = &self.done {
            let mut conn = conn.clone();
            let _: () = redis::cmd("RPUSH")
                .arg(key)
                .arg(format!("{} {:.3}", ctx.job().id, now_ms()))
                .query_async(&mut conn)
                .await
                .map_err(|e| StageError::transient("bench", e.to_string()))?;
        }
        let ready = ctx.ready_at.map(|t| t.timestamp_micros() as f64 / 1000.0);
        Ok(Completion {
            output: serde_json::json!({ "ready_ms": ready, "started_ms": started, "ended_ms": now_ms() }),
            ..Default::default()
        })
    }
}

/// In a child process: runs its role and answers true (the caller exits);
/// false in the benchmark's own process.
pub fn child_main() -> anyhow::Result<bool> {
    let Ok(role) = std::env::var(ROLE) else {
        return Ok(false);
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let settings = Settings::load(None)?;
        // Traced and metered as in production (no exporter, no scrape).
        let _telemetry = voxline_telemetry::init(&settings, "bench-worker");
        let stage = Stage::parse(&role)?;
        let ms = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|ms| ms.parse().ok())
                .map_or(Duration::ZERO, Duration::from_millis)
        };
        let (work, work_max) = (ms(STAGE_MS), ms(STAGE_MS_MAX));
        let done = if stage == *STAGES.last().expect("stages") {
            let conn = redis::Client::open(redis_url())?
                .get_connection_manager()
                .await?;
            Some((conn, done_key(&settings.redis.namespace)))
        } else {
            None
        };
        let handler = Arc::new(BenchStage {
            stage,
            work,
            work_max,
            done,
        });
        voxline_worker::run_service(settings, "bench", handler).await?;
        anyhow::Ok(())
    })?;
    Ok(true)
}

/// How the fleet runs.
#[derive(Debug, Clone)]
pub struct Shape {
    pub processes: usize,
    /// Stages one worker process runs at once.
    pub concurrency: usize,
    /// How long every stage takes.
    pub stage_work: Duration,
    /// When longer than `stage_work`, each run takes between the two
    /// (log-uniformly, drawn from the run's id) instead.
    pub stage_work_max: Duration,
    /// What a priority level is worth (`queue.priority_step_seconds`), for
    /// the workers and the fleet's own pushes alike; the default when `None`.
    pub priority_step_seconds: Option<f64>,
}

/// Voxline's workers (processes per stage) and the janitor, as processes,
/// over a database and Redis namespace of their own; killed when dropped.
pub struct Fleet {
    pub env: TestEnv,
    pub connections: Connections,
    children: Vec<Child>,
    redis: redis::aio::MultiplexedConnection,
}

impl Fleet {
    pub async fn start(shape: &Shape) -> anyhow::Result<Self> {
        let mut env = TestEnv::new().await?;
        if let Some(step) = shape.priority_step_seconds {
            env.settings.queue.priority_step_seconds = step;
        }
        let s = &env.settings;
        let vars: Vec<(String, String)> = [
            ("VOXLINE__DATABASE__URL", s.database.url.expose().to_owned()),
            ("VOXLINE__DATABASE__POOL_SIZE", "6".to_owned()),
            ("VOXLINE__DATABASE__MIGRATE_ON_START", "false".to_owned()),
            ("VOXLINE__REDIS__NAMESPACE", s.redis.namespace.clone()),
            (
                "VOXLINE__STORAGE__LOCAL_ROOT",
                s.storage.local_root.display().to_string(),
            ),
            ("VOXLINE__TELEMETRY__OPS_BIND", String::new()),
            ("VOXLINE__TELEMETRY__LOG_FILTER", "warn".to_owned()),
            (
                "VOXLINE__RUNNER__CONCURRENCY",
                shape.concurrency.to_string(),
            ),
            (STAGE_MS, shape.stage_work.as_millis().to_string()),
            (STAGE_MS_MAX, shape.stage_work_max.as_millis().to_string()),
            (
                "VOXLINE__QUEUE__PRIORITY_STEP_SECONDS",
                s.queue.priority_step_seconds.to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let mut children = Vec::new();
        for stage in STAGES {
            for _ in 0..shape.processes {
                children.push(
                    Command::new(std::env::current_exe()?)
                        .env(ROLE, stage.as_str())
                        .envs(vars.iter().cloned())
                        .stdout(std::process::Stdio::null())
                        .spawn()?,
                );
            }
        }
        children.push(
            Command::new(binary("voxline-janitor"))
                .envs(vars.iter().cloned())
                .stdout(std::process::Stdio::null())
                .spawn()?,
        );
        let connections = Connections::open(&env.settings).await?;
        let redis = redis::Client::open(redis_url())?
            .get_multiplexed_async_connection()
            .await?;
        let fleet = Self {
            env,
            connections,
            children,
            redis,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        for stage in STAGES {
            while voxline_db::workers::alive(&fleet.connections.db, stage)
                .await?
                .len()
                < shape.processes
            {
                anyhow::ensure!(Instant::now() < deadline, "{stage} workers did not start");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(fleet)
    }

    /// CPU seconds the fleet's processes used so far.
    pub fn cpu_seconds(&self) -> f64 {
        self.children.iter().map(|c| cpu_seconds(c.id())).sum()
    }

    /// Redis's CPU seconds so far.
    pub async fn redis_cpu_seconds(&mut self) -> f64 {
        redis_cpu_seconds(&mut self.redis).await
    }

    /// Jobs told done so far: (job, when, in ms since the epoch).
    pub async fn done(&mut self) -> anyhow::Result<Vec<(JobId, f64)>> {
        let items: Vec<String> = redis::cmd("LRANGE")
            .arg(done_key(&self.env.settings.redis.namespace))
            .arg(0)
            .arg(-1)
            .query_async(&mut self.redis)
            .await?;
        Ok(items
            .iter()
            .filter_map(|i| {
                let (job, at) = i.split_once(' ')?;
                Some((JobId::parse(job).ok()?, at.parse().ok()?))
            })
            .collect())
    }

    /// Waits until `n` jobs are told done (or `timeout`).
    pub async fn wait_done(&mut self, n: usize, timeout: Duration) -> anyhow::Result<()> {
        let key = done_key(&self.env.settings.redis.namespace);
        let deadline = Instant::now() + timeout;
        loop {
            let len: usize = redis::cmd("LLEN")
                .arg(&key)
                .query_async(&mut self.redis)
                .await?;
            if len >= n {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "{len} of {n} jobs done in time");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Forgets the jobs told done (after a warm-up).
    pub async fn clear_done(&mut self) -> anyhow::Result<()> {
        let _: () = redis::cmd("DEL")
            .arg(done_key(&self.env.settings.redis.namespace))
            .query_async(&mut self.redis)
            .await?;
        Ok(())
    }

    /// Stops the worker processes (their connections close, so PostgreSQL
    /// has counted all their work).
    pub fn stop(&mut self) {
        for child in &mut self.children {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        for child in &mut self.children {
            let _ = child.wait();
        }
        self.children.clear();
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Creates jobs as concurrent clients would, for one tenant, over one
/// upload (made once, so making jobs is all it does afterwards).
#[derive(Clone)]
pub struct Submitter {
    c: Connections,
    creator: voxline_db::jobs::Creator,
    upload: Arc<voxline_db::uploads::Upload>,
}

impl Submitter {
    pub async fn new(c: &Connections, tenant: &str) -> anyhow::Result<Self> {
        Ok(Self {
            c: c.clone(),
            creator: voxline_db::jobs::Creator::new(c.db.clone()),
            upload: Arc::new(crate::seed::placeholder_upload(&c.db, tenant).await?),
        })
    }

    /// Creates `n` jobs at `priority` from `lanes` clients at once, and puts
    /// their first stage on the queue. Answers when each was submitted (ms
    /// since the epoch).
    pub async fn submit(
        &self,
        priority: Priority,
        n: usize,
        lanes: usize,
    ) -> anyhow::Result<HashMap<JobId, f64>> {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..lanes.max(1).min(n.max(1)) {
            let (this, next) = (self.clone(), next.clone());
            tasks.spawn(async move {
                let mut submitted = Vec::new();
                while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < n {
                    let at = now_ms();
                    let new = crate::seed::new_job(
                        &this.upload,
                        JobKind::Dub,
                        &["es"],
                        true,
                        4,
                        priority,
                    );
                    let created = this.creator.create(&new).await?;
                    this.c.queue.push(&created.dispatch).await?;
                    submitted.push((created.job.id, at));
                }
                anyhow::Ok(submitted)
            });
        }
        let mut all = HashMap::new();
        while let Some(done) = tasks.join_next().await {
            all.extend(done??);
        }
        Ok(all)
    }
}

/// What PostgreSQL did in one database: statements (pg_stat_statements'
/// calls, BEGIN and COMMIT included) and committed transactions
/// (pg_stat_database). Read from the `postgres` database, so reading does
/// not count.
#[derive(Debug, Clone, Copy, Default)]
pub struct PgWork {
    pub statements: f64,
    pub commits: f64,
    pub cpu_seconds: f64,
}

impl PgWork {
    /// Whether pg_stat_statements is loaded (`scripts/setup.sh --bench` loads it).
    pub async fn available(env: &TestEnv) -> bool {
        let Ok(client) = admin().await else {
            return false;
        };
        let loaded = client
            .query_one("SHOW shared_preload_libraries", &[])
            .await
            .map(|r| r.get::<_, String>(0).contains("pg_stat_statements"))
            .unwrap_or(false);
        if loaded {
            let _ = client
                .execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", &[])
                .await;
        }
        if loaded
            && let Ok((c, conn)) =
                tokio_postgres::connect(env.settings.database.url.expose(), tokio_postgres::NoTls)
                    .await
        {
            tokio::spawn(conn);
            let _ = c
                .execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", &[])
                .await;
        }
        loaded
    }

    /// The counts so far for the database of `env`.
    pub async fn now(env: &TestEnv) -> anyhow::Result<Self> {
        let name = env.database();
        let client = admin().await?;
        let commits: i64 = client
            .query_one(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = $1",
                &[&name],
            )
            .await?
            .get(0);
        let statements: f64 = client
            .query_one(
                "SELECT coalesce(sum(calls), 0)::float8 FROM pg_stat_statements
                 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)",
                &[&name],
            )
            .await
            .map(|r| r.get(0))
            .unwrap_or(f64::NAN);
        Ok(Self {
            statements,
            commits: commits as f64,
            cpu_seconds: cpu_seconds_of_command("postgres"),
        })
    }

    pub fn since(self, before: Self) -> Self {
        Self {
            statements: self.statements - before.statements,
            commits: self.commits - before.commits,
            cpu_seconds: self.cpu_seconds - before.cpu_seconds,
        }
    }
}

/// One statement's work so far in one database, as pg_stat_statements
/// counts it: its text, calls, milliseconds spent executing and rows.
#[derive(Debug, Clone, Default)]
pub struct StatementWork {
    pub query: String,
    pub calls: f64,
    pub exec_ms: f64,
    pub rows: f64,
}

impl StatementWork {
    /// Every statement pg_stat_statements has counted in the database of
    /// `env` so far.
    pub async fn all(env: &TestEnv) -> anyhow::Result<Vec<Self>> {
        let client = admin().await?;
        let rows = client
            .query(
                "SELECT query, calls::float8, total_exec_time, rows::float8
                 FROM pg_stat_statements
                 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)",
                &[&env.database()],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Self {
                query: r.get(0),
                calls: r.get(1),
                exec_ms: r.get(2),
                rows: r.get(3),
            })
            .collect())
    }
}

async fn admin() -> anyhow::Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(
        &format!("{}/postgres", crate::pg_base()),
        tokio_postgres::NoTls,
    )
    .await?;
    tokio::spawn(conn);
    Ok(client)
}

/// Each run's stage timings, as the bench stages noted them: per job, its
/// stages in order with (ready, started, ended) in ms since the epoch.
pub async fn stage_times(c: &Connections) -> anyhow::Result<HashMap<JobId, Vec<(f64, f64, f64)>>> {
    let rows =
        c.db.client()
            .await?
            .query(
                "SELECT r.job_id, r.output FROM stage_runs r WHERE r.output IS NOT NULL
             ORDER BY r.job_id, r.stage",
                &[],
            )
            .await?;
    let mut out: HashMap<JobId, Vec<(f64, f64, f64)>> = HashMap::new();
    for r in rows {
        let output: serde_json::Value = r.get(1);
        let f = |k: &str| output[k].as_f64().unwrap_or(f64::NAN);
        out.entry(JobId(r.get(0))).or_default().push((
            f("ready_ms"),
            f("started_ms"),
            f("ended_ms"),
        ));
    }
    Ok(out)
}
