//! The stage runner's promises, on real PostgreSQL and Redis: a stage
//! delivered twice commits once; a worker that dies mid-stage leaves work
//! another completes; a failing stage retries with backoff, then fails with
//! its error kept.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use voxline_core::{Stage, StageRunId};
use voxline_db::Db;
use voxline_db::runs::Completion;
use voxline_testkit::TestEnv;
use voxline_testkit::seed::{job_status, transcribe_job, wait_for_status};
use voxline_worker::{
    CancellationToken, Connections, Outcome, StageContext, StageError, StageHandler,
    run_worker_pool,
};

/// A transcribe-stage stand-in that counts its runs and behaves as told.
struct Probe {
    runs: AtomicUsize,
    behaviour: Behaviour,
}

enum Behaviour {
    Succeed,
    Hang,
    FailTransient,
}

#[async_trait::async_trait]
impl StageHandler for Probe {
    fn stage(&self) -> Stage {
        Stage::Transcribe
    }

    async fn run(&self, ctx: &StageContext) -> Result<Completion, StageError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        match self.behaviour {
            Behaviour::Succeed => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let artifact = ctx
                    .put_bytes(
                        "transcript",
                        "transcript.json",
                        "application/json",
                        b"{}".to_vec(),
                    )
                    .await?;
                Ok(Completion {
                    artifacts: vec![artifact],
                    engine: Some("probe".into()),
                    ..Default::default()
                })
            }
            Behaviour::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                unreachable!()
            }
            Behaviour::FailTransient => Err(StageError::transient(
                "engine_unavailable",
                "the probe engine is down",
            )),
        }
    }
}

fn probe(behaviour: Behaviour) -> Arc<Probe> {
    Arc::new(Probe {
        runs: AtomicUsize::new(0),
        behaviour,
    })
}

async fn count(db: &Db, sql: &str, run: StageRunId) -> anyhow::Result<i64> {
    Ok(db.client().await?.query_one(sql, &[&run.0]).await?.get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stage_delivered_twice_commits_once() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let c = Connections::open(&env.settings).await?;
    let created = transcribe_job(&c.db, 3).await?;
    let (job, run, dispatch) = (created.job.id, created.dispatch[0].run_id, created.dispatch);
    let handler = probe(Behaviour::Succeed);
    let worker = || c.runner(&env.settings, handler.clone(), CancellationToken::new());
    let (a, b, late) = (worker(), worker(), worker());

    // Two deliveries at once to two workers (what a redelivery after a
    // consumer went silent does), then a late one.
    let (x, y) = tokio::join!(a.process(run), b.process(run));
    let mut outcomes = vec![x?, y?];
    outcomes.push(late.process(run).await?);
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(
        outcomes,
        vec![Outcome::Committed, Outcome::Skipped, Outcome::Skipped]
    );
    assert_eq!(handler.runs.load(Ordering::SeqCst), 1);
    assert_eq!(
        count(
            &c.db,
            "SELECT count(*) FROM stage_commits WHERE stage_run_id = $1",
            run
        )
        .await?,
        1
    );

    // And through Redis: the same run pushed twice is queued once, and its
    // delivery, a duplicate of the committed run, does not run again.
    c.queue.push(&dispatch).await?;
    c.queue.push(&dispatch).await?;
    assert_eq!(c.queue.stats(Stage::Transcribe).await?.depth(), 1);
    let stop = CancellationToken::new();
    let pool = tokio::spawn(run_worker_pool(a.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.cancel();
    pool.await??;
    assert_eq!(handler.runs.load(Ordering::SeqCst), 1);
    let status = job_status(&c.db, job).await?;
    assert_eq!(status, "completed");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn work_of_a_worker_killed_mid_stage_is_completed_by_another() -> anyhow::Result<()> {
    voxline_telemetry::metrics::install();
    let env = TestEnv::new().await?;
    let c = Connections::open(&env.settings).await?;
    let created = transcribe_job(&c.db, 3).await?;
    let (job, run) = (created.job.id, created.dispatch[0].run_id);

    // Worker A claims the run and hangs; then it "dies": its task and the
    // runner are dropped mid-stage, so its lease is no longer renewed.
    let hanging = c.runner(
        &env.settings,
        probe(Behaviour::Hang),
        CancellationToken::new(),
    );
    let a = tokio::spawn(async move { hanging.process(run).await });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        count(
            &c.db,
            "SELECT count(*) FROM stage_runs WHERE id = $1 AND status = 'running'",
            run
        )
        .await?,
        1
    );
    a.abort();

    // A late delivery to worker B while A's lease is still live is a no-op.
    let handler = probe(Behaviour::Succeed);
    let healthy = c.runner(&env.settings, handler.clone(), CancellationToken::new());
    assert_eq!(healthy.process(run).await?, Outcome::Skipped);

    // Once A's lease runs out, the janitor re-queues the run and B completes it.
    tokio::time::sleep(Duration::from_secs(env.settings.runner.lease_seconds + 1)).await;
    let repairs = voxline_janitor::reconcile_once(&c, 60.0, 10).await?;
    assert_eq!(repairs.expired_leases, 1);
    let metrics = voxline_telemetry::metrics::render();
    assert!(
        metrics.contains(r#"voxline_leases_taken_over_total{stage="transcribe"} 1"#),
        "{metrics}"
    );
    assert_eq!(healthy.process(run).await?, Outcome::Committed);
    let row =
        c.db.client()
            .await?
            .query_one(
                "SELECT attempt, lost_leases, failures, status::text FROM stage_runs WHERE id = $1",
                &[&run.0],
            )
            .await?;
    assert_eq!(
        (
            row.get::<_, i32>(0),
            row.get::<_, i32>(1),
            row.get::<_, i32>(2),
            row.get::<_, String>(3)
        ),
        (2, 1, 0, "succeeded".into()),
        "one worker lost, which is not the stage's failure"
    );
    let status = job_status(&c.db, job).await?;
    assert_eq!(status, "completed");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_stage_retries_then_fails_with_its_error_kept() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let c = Connections::open(&env.settings).await?;
    let created = transcribe_job(&c.db, 3).await?;
    let (job, run, dispatch) = (created.job.id, created.dispatch[0].run_id, created.dispatch);
    let handler = probe(Behaviour::FailTransient);
    let runner = c.runner(&env.settings, handler.clone(), CancellationToken::new());
    let stop = CancellationToken::new();
    let pool = tokio::spawn(run_worker_pool(runner, stop.clone()));
    c.queue.push(&dispatch).await?;

    let status = wait_for_status(&c.db, job, "failed", Duration::from_secs(30)).await?;
    stop.cancel();
    pool.await??;
    assert_eq!(status, "failed");
    assert_eq!(
        handler.runs.load(Ordering::SeqCst),
        3,
        "three attempts, then no more"
    );
    let task =
        c.db.client()
            .await?
            .query_one(
                "SELECT error_code, error_message FROM tasks WHERE job_id = $1",
                &[&job.0],
            )
            .await?;
    assert_eq!(task.get::<_, String>(0), "engine_unavailable");
    assert!(task.get::<_, String>(1).contains("probe engine is down"));
    assert_eq!(
        count(
            &c.db,
            "SELECT failures::bigint FROM stage_runs WHERE id = $1",
            run
        )
        .await?,
        3
    );
    Ok(())
}

/// A stage whose engine is a long-running child process.
struct SlowEngine {
    marker: String,
}

#[async_trait::async_trait]
impl StageHandler for SlowEngine {
    fn stage(&self) -> Stage {
        Stage::Transcribe
    }

    async fn run(&self, _: &StageContext) -> Result<Completion, StageError> {
        let mut cmd = tokio::process::Command::new("sleep");
        cmd.arg(&self.marker);
        voxline_media::process::run(cmd, None, Duration::from_secs(600)).await?;
        Ok(Completion::default())
    }
}

fn running(marker: &str) -> bool {
    std::process::Command::new("pgrep")
        .args(["-f", &format!("^sleep {marker}$")])
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelling_a_job_kills_its_running_engine_within_two_seconds() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let c = Connections::open(&env.settings).await?;
    let created = transcribe_job(&c.db, 3).await?;
    let marker = format!("{}.{}", 900 + rand_suffix(), 4321);
    let runner = c.runner(
        &env.settings,
        std::sync::Arc::new(SlowEngine {
            marker: marker.clone(),
        }),
        CancellationToken::new(),
    );
    let run = created.dispatch[0].run_id;
    let work = tokio::spawn(async move { runner.process(run).await });
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !running(&marker) {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the engine never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let tenant = voxline_db::api_keys::ensure_tenant(&c.db, "seeded").await?;
    voxline_db::jobs::cancel(&c.db, Some(tenant), created.job.id).await?;
    let cancelled_at = std::time::Instant::now();
    while running(&marker) {
        anyhow::ensure!(
            cancelled_at.elapsed() < Duration::from_secs(2),
            "the engine outlived the cancellation by 2 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "engine killed {:?} after the cancellation",
        cancelled_at.elapsed()
    );
    assert_eq!(work.await??, Outcome::LeaseLost);
    assert_eq!(
        count(
            &c.db,
            "SELECT count(*) FROM stage_commits WHERE stage_run_id = $1",
            run
        )
        .await?,
        0
    );
    assert_eq!(job_status(&c.db, created.job.id).await?, "cancelled");
    Ok(())
}

/// A number unlikely to collide with another test's marker.
fn rand_suffix() -> u32 {
    std::process::id() % 97
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopping_worker_hands_back_what_it_cannot_finish() -> anyhow::Result<()> {
    let mut env = TestEnv::new().await?;
    env.settings.runner.shutdown_grace_seconds = 1;
    let c = Connections::open(&env.settings).await?;
    let created = transcribe_job(&c.db, 3).await?;
    let run = created.dispatch[0].run_id;
    let marker = format!("{}.{}", 800 + rand_suffix(), 1234);
    let shutdown = CancellationToken::new();
    let runner = c.runner(
        &env.settings,
        std::sync::Arc::new(SlowEngine {
            marker: marker.clone(),
        }),
        shutdown.clone(),
    );
    let pool = tokio::spawn(run_worker_pool(runner, shutdown.clone()));
    c.queue.push(&created.dispatch).await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !running(&marker) {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the stage never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // SIGTERM, as the process would get it: stop taking work, give the stage
    // its grace period, then hand the run back.
    let stopping = std::time::Instant::now();
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), pool).await???;
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "stopped in {:?}",
        stopping.elapsed()
    );
    assert!(!running(&marker), "the engine was stopped");
    let row =
        c.db.client()
            .await?
            .query_one(
                "SELECT status::text, failures, lease_owner FROM stage_runs WHERE id = $1",
                &[&run.0],
            )
            .await?;
    assert_eq!(
        row.get::<_, String>(0),
        "queued",
        "handed back, not left running"
    );
    assert_eq!(
        row.get::<_, i32>(1),
        0,
        "a shutdown is not the stage's failure"
    );
    assert!(row.get::<_, Option<String>>(2).is_none());

    // Another worker finishes it.
    let handler = probe(Behaviour::Succeed);
    let next = c.runner(&env.settings, handler, CancellationToken::new());
    assert_eq!(next.process(run).await?, Outcome::Committed);
    assert_eq!(job_status(&c.db, created.job.id).await?, "completed");
    Ok(())
}

/// A stage that notes how many of its runs overlap.
struct Overlap {
    now: AtomicUsize,
    most: AtomicUsize,
}

#[async_trait::async_trait]
impl StageHandler for Overlap {
    fn stage(&self) -> Stage {
        Stage::Transcribe
    }

    async fn run(&self, ctx: &StageContext) -> Result<Completion, StageError> {
        let running = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(running, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(400)).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        let artifact = ctx
            .put_bytes(
                "transcript",
                "transcript.json",
                "application/json",
                b"{}".to_vec(),
            )
            .await?;
        Ok(Completion {
            artifacts: vec![artifact],
            ..Default::default()
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_runs_no_more_stages_at_once_than_its_concurrency() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let c = Connections::open(&env.settings).await?;
    // A backlog first, then the worker: it must take them one by one.
    let mut jobs = Vec::new();
    for _ in 0..6 {
        let created = transcribe_job(&c.db, 3).await?;
        c.queue.push(&created.dispatch).await?;
        jobs.push(created.job.id);
    }
    let handler = Arc::new(Overlap {
        now: AtomicUsize::new(0),
        most: AtomicUsize::new(0),
    });
    let runner = c.runner(&env.settings, handler.clone(), CancellationToken::new());
    let stop = CancellationToken::new();
    let pool = tokio::spawn(run_worker_pool(runner, stop.clone()));
    for id in &jobs {
        wait_for_status(&c.db, *id, "completed", Duration::from_secs(60)).await?;
    }
    stop.cancel();
    pool.await??;
    assert_eq!(
        handler.most.load(Ordering::SeqCst),
        1,
        "one stage at a time"
    );
    Ok(())
}
