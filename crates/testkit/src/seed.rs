//! Jobs made straight in the database, for tests of the runner and the
//! janitor that need a job but not the gateway.

use std::collections::HashSet;
use std::time::Duration;

use voxline_core::{JobId, JobKind, JobOptions, Priority, UploadId};
use voxline_db::jobs::{self, Created, NewJob};
use voxline_db::{Db, api_keys, uploads};

/// A transcribe job (one stage) over a placeholder upload, not yet dispatched.
pub async fn transcribe_job(db: &Db, max_attempts: u32) -> anyhow::Result<Created> {
    let upload = placeholder_upload(db, "seeded").await?;
    seeded_job(db, &upload, JobKind::Transcribe, &[], false, max_attempts).await
}

/// An upload row of tenant `tenant` with no file behind it: for jobs whose
/// stages never read their source (the runner's tests, the benchmarks).
pub async fn placeholder_upload(db: &Db, tenant: &str) -> anyhow::Result<uploads::Upload> {
    let tenant = api_keys::ensure_tenant(db, tenant).await?;
    let upload = uploads::Upload {
        id: UploadId::new(),
        tenant_id: tenant,
        object_key: "uploads/none".into(),
        file_name: "none.wav".into(),
        content_type: "audio/wav".into(),
        size_bytes: 1,
        duration: 1.0,
        media: serde_json::json!({}),
        created_at: chrono::Utc::now(),
    };
    uploads::insert(db, &upload).await?;
    Ok(upload)
}

/// A job of `kind` over `upload` into `targets`, not yet dispatched.
pub async fn seeded_job(
    db: &Db,
    upload: &uploads::Upload,
    kind: JobKind,
    targets: &[&str],
    publish: bool,
    max_attempts: u32,
) -> anyhow::Result<Created> {
    seeded_job_at(
        db,
        upload,
        kind,
        targets,
        publish,
        max_attempts,
        Priority::Normal,
    )
    .await
}

/// Like [`seeded_job`], at `priority`.
pub async fn seeded_job_at(
    db: &Db,
    upload: &uploads::Upload,
    kind: JobKind,
    targets: &[&str],
    publish: bool,
    max_attempts: u32,
    priority: Priority,
) -> anyhow::Result<Created> {
    let new = new_job(upload, kind, targets, publish, max_attempts, priority);
    Ok(jobs::create(db, &new).await?)
}

/// What [`seeded_job_at`] asks for.
pub fn new_job(
    upload: &uploads::Upload,
    kind: JobKind,
    targets: &[&str],
    publish: bool,
    max_attempts: u32,
    priority: Priority,
) -> NewJob {
    NewJob {
        id: JobId::new(),
        tenant_id: upload.tenant_id,
        kind,
        source_upload_id: upload.id,
        background_upload_id: None,
        source_language: "en".into(),
        target_languages: targets.iter().map(|t| t.to_string()).collect(),
        options: JobOptions::default(),
        publish,
        duration: 1.0,
        priority,
        idempotency_key: None,
        request_hash: "seeded".into(),
        max_attempts,
        max_in_flight: None,
        prices: None,
        traceparent: String::new(),
        script: None,
    }
}

/// A job's status word.
pub async fn job_status(db: &Db, job: JobId) -> anyhow::Result<String> {
    Ok(db
        .client()
        .await?
        .query_one("SELECT status::text FROM jobs WHERE id = $1", &[&job.0])
        .await?
        .get(0))
}

/// Polls until the job's status is `want` or `timeout` passes; returns the last status.
pub async fn wait_for_status(
    db: &Db,
    job: JobId,
    want: &str,
    timeout: Duration,
) -> anyhow::Result<String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let status = job_status(db, job).await?;
        if status == want || tokio::time::Instant::now() > deadline {
            return Ok(status);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The stage runs of a database in `status` (`running`, `succeeded`, …), by id.
pub async fn runs_in(db: &Db, status: &str) -> anyhow::Result<HashSet<uuid::Uuid>> {
    Ok(db
        .client()
        .await?
        .query(
            "SELECT id FROM stage_runs WHERE status::text = $1",
            &[&status],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Waits until some stage is running (a fault then lands mid-work), or
/// fails after `timeout`.
pub async fn until_a_stage_runs(db: &Db, timeout: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    while runs_in(db, "running").await?.is_empty() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no stage started within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
