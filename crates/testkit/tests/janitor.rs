//! The janitor's repairs: work Redis lost is dispatched again from
//! PostgreSQL, and expired artifacts are deleted, object and row.

use std::time::Duration;

use voxline_queue::{CancellationToken, Connections, run_worker_pool};
use voxline_testkit::TestEnv;
use voxline_testkit::seed::{transcribe_job, wait_for_status};

/// Deletes every Redis key of the test's namespace: what a restart without
/// persistence or a FLUSHALL does to Voxline's queues.
async fn wipe_redis(namespace: &str) -> anyhow::Result<usize> {
    let client = redis::Client::open(voxline_testkit::redis_url())?;
    let mut c = client.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{namespace}*"))
        .query_async(&mut c)
        .await?;
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut c).await?;
    }
    Ok(keys.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn work_lost_with_redis_is_dispatched_again() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let c = Connections::open(&env.settings).await?;
    let created = transcribe_job(&c.db, 3).await?;
    c.dispatcher.send(&created.dispatch).await?;
    assert!(
        wipe_redis(&env.settings.redis.namespace).await? > 0,
        "the message was in Redis"
    );

    // Nothing to re-send while the dispatch is recent; then the janitor re-sends it.
    assert_eq!(
        voxline_janitor::reconcile_once(&c, 60.0)
            .await?
            .redispatched,
        0
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        voxline_janitor::reconcile_once(&c, 1.0).await?.redispatched,
        1
    );

    let handler = std::sync::Arc::new(voxline_transcriber_stand_in::Stub);
    let runner = c.runner(&env.settings, handler, CancellationToken::new());
    let stop = CancellationToken::new();
    let pool = tokio::spawn(run_worker_pool(runner, "test", 1, stop.clone()));
    let status =
        wait_for_status(&c.db, created.job.id, "completed", Duration::from_secs(20)).await?;
    stop.cancel();
    pool.await??;
    assert_eq!(status, "completed");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expired_artifacts_are_deleted() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let c = Connections::open(&env.settings).await?;
    let created = transcribe_job(&c.db, 3).await?;
    let handler = std::sync::Arc::new(voxline_transcriber_stand_in::Stub);
    let runner = c.runner(&env.settings, handler, CancellationToken::new());
    assert_eq!(
        runner.process(created.dispatch[0].run_id, "w").await?,
        voxline_queue::Outcome::Committed
    );
    let key = format!("jobs/{}/en/transcribe/transcript.json", created.job.id);
    assert!(c.storage.size(&key).await.is_ok());

    assert_eq!(
        voxline_janitor::sweep_once(&c).await?,
        0,
        "nothing has expired yet"
    );
    c.db.client()
        .await?
        .execute(
            "UPDATE artifacts SET expires_at = now() - interval '1 minute' WHERE job_id = $1",
            &[&created.job.id.0],
        )
        .await?;
    assert_eq!(voxline_janitor::sweep_once(&c).await?, 1);
    assert!(c.storage.size(&key).await.is_err(), "the object is gone");
    let rows: i64 =
        c.db.client()
            .await?
            .query_one(
                "SELECT count(*) FROM artifacts WHERE job_id = $1",
                &[&created.job.id.0],
            )
            .await?
            .get(0);
    assert_eq!(rows, 0);
    Ok(())
}

/// A transcribe stage that writes a fixed transcript.
mod voxline_transcriber_stand_in {
    use voxline_core::Stage;
    use voxline_db::runs::Completion;
    use voxline_queue::{StageContext, StageError, StageHandler};

    pub struct Stub;

    #[async_trait::async_trait]
    impl StageHandler for Stub {
        fn stage(&self) -> Stage {
            Stage::Transcribe
        }

        async fn run(&self, ctx: &StageContext) -> Result<Completion, StageError> {
            let a = ctx
                .put_bytes(
                    "transcript",
                    "transcript.json",
                    "application/json",
                    b"{}".to_vec(),
                )
                .await?;
            Ok(Completion {
                artifacts: vec![a],
                ..Default::default()
            })
        }
    }
}
