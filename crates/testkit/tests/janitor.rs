//! The janitor's repairs: work Redis lost is dispatched again from
//! PostgreSQL, and expired artifacts are deleted, object and row.

use std::time::Duration;

use voxline_testkit::TestEnv;
use voxline_testkit::seed::{transcribe_job, wait_for_status};
use voxline_worker::{CancellationToken, Connections, run_worker_pool};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn work_lost_with_redis_is_dispatched_again() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let c = Connections::open(&env.settings).await?;
    let created = transcribe_job(&c.db, 3).await?;
    c.queue.push(&created.dispatch).await?;
    assert_eq!(
        c.queue
            .stats(voxline_core::Stage::Transcribe)
            .await?
            .depth(),
        1,
        "the run waits on the transcribe queue"
    );
    assert!(
        voxline_testkit::wipe_redis(&env.settings.redis.namespace).await? > 0,
        "the message was in Redis"
    );

    // Nothing to re-send while the dispatch is recent; then the janitor re-sends it.
    assert_eq!(
        voxline_janitor::reconcile_once(&c, 60.0, 10)
            .await?
            .redispatched,
        0
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        voxline_janitor::reconcile_once(&c, 1.0, 10)
            .await?
            .redispatched,
        1
    );

    let handler = std::sync::Arc::new(voxline_transcriber_stand_in::Stub);
    let runner = c.runner(&env.settings, handler, CancellationToken::new());
    let stop = CancellationToken::new();
    let pool = tokio::spawn(run_worker_pool(runner, stop.clone()));
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
        runner.process(created.dispatch[0].run_id).await?,
        voxline_worker::Outcome::Committed
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
    use voxline_worker::{StageContext, StageError, StageHandler};

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

/// A stage that writes a file and then works forever.
struct WritesThenHangs;

#[async_trait::async_trait]
impl voxline_worker::StageHandler for WritesThenHangs {
    fn stage(&self) -> voxline_core::Stage {
        voxline_core::Stage::Transcribe
    }

    async fn run(
        &self,
        ctx: &voxline_worker::StageContext,
    ) -> Result<voxline_db::runs::Completion, voxline_worker::StageError> {
        ctx.put_bytes(
            "transcript",
            "partial.json",
            "application/json",
            b"{}".to_vec(),
        )
        .await?;
        tokio::time::sleep(Duration::from_secs(3600)).await;
        unreachable!()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn files_of_cancelled_work_are_deleted() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let c = Connections::open(&env.settings).await?;
    let created = transcribe_job(&c.db, 3).await?;
    let runner = c.runner(
        &env.settings,
        std::sync::Arc::new(WritesThenHangs),
        CancellationToken::new(),
    );
    let run = created.dispatch[0].run_id;
    let work = tokio::spawn(async move { runner.process(run).await });
    let key = format!("jobs/{}/en/transcribe/partial.json", created.job.id);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while c.storage.size(&key).await.is_err() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the stage never wrote"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tenant = voxline_db::api_keys::ensure_tenant(&c.db, "seeded").await?;
    voxline_db::jobs::cancel(&c.db, Some(tenant), created.job.id).await?;
    assert_eq!(work.await??, voxline_worker::Outcome::LeaseLost);

    // Not before the grace period; then the job's folder goes.
    assert_eq!(voxline_janitor::clean_cancelled_once(&c, 60.0).await?, 0);
    assert!(c.storage.size(&key).await.is_ok());
    assert_eq!(voxline_janitor::clean_cancelled_once(&c, 0.0).await?, 1);
    assert!(
        c.storage.size(&key).await.is_err(),
        "the partial file is gone"
    );
    assert_eq!(
        voxline_janitor::clean_cancelled_once(&c, 0.0).await?,
        0,
        "once is enough"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn abandoned_drafts_are_deleted_with_their_uploads() -> anyhow::Result<()> {
    use voxline_core::{JobId, UploadId};
    use voxline_db::drafts::{self, Draft};
    let env = TestEnv::new().await?;
    let c = Connections::open(&env.settings).await?;
    let tenant = voxline_db::api_keys::ensure_tenant(&c.db, "frontend").await?;
    let draft = Draft {
        job_id: JobId::new(),
        tenant_id: tenant,
        languages: vec!["es".into()],
        voice_upload_id: UploadId::new(),
        voice_file_name: "voice.mp3".into(),
        background_upload_id: None,
        background_file_name: None,
        created_at: chrono::Utc::now(),
    };
    drafts::insert(&c.db, &draft).await?;
    let key = voxline_storage::keys::incoming(tenant, draft.voice_upload_id);
    c.storage
        .put_bytes(&key, b"uploaded, never used".to_vec())
        .await?;

    assert_eq!(
        voxline_janitor::clean_drafts_once(&c, 1.0).await?,
        0,
        "a recent draft stays"
    );
    assert_eq!(voxline_janitor::clean_drafts_once(&c, 0.0).await?, 1);
    assert!(c.storage.size(&key).await.is_err(), "its upload is gone");
    assert!(drafts::get(&c.db, tenant, draft.job_id).await.is_err());
    Ok(())
}
