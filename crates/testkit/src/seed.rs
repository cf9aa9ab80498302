//! Jobs made straight in the database, for tests of the runner and the
//! janitor that need a job but not the gateway.

use std::time::Duration;

use voxline_core::{JobId, JobKind, JobOptions, UploadId};
use voxline_db::jobs::{self, Created, NewJob};
use voxline_db::{Db, api_keys, uploads};

/// A transcribe job (one stage) over a placeholder upload, not yet dispatched.
pub async fn transcribe_job(db: &Db, max_attempts: u32) -> anyhow::Result<Created> {
    let tenant = api_keys::ensure_tenant(db, "seeded").await?;
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
    let new = NewJob {
        id: JobId::new(),
        tenant_id: tenant,
        kind: JobKind::Transcribe,
        source_upload_id: upload.id,
        background_upload_id: None,
        source_language: "en".into(),
        target_languages: vec![],
        options: JobOptions::default(),
        publish: false,
        duration: 1.0,
        idempotency_key: None,
        request_hash: "seeded".into(),
        max_attempts,
        max_in_flight: None,
        prices: None,
        traceparent: String::new(),
    };
    Ok(jobs::create(db, &new).await?)
}

/// A job's status word.
pub async fn job_status(db: &Db, job: JobId) -> anyhow::Result<String> {
    Ok(db
        .client()
        .await?
        .query_one("SELECT status FROM jobs WHERE id = $1", &[&job.0])
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
