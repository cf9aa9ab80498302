//! The webhook delivery log: one row per attempt, kept with the job.

use chrono::{DateTime, Utc};
use voxline_core::{JobId, TenantId};

use crate::{Db, DbError};

#[derive(Debug, Clone)]
pub struct Delivery {
    pub job_id: JobId,
    pub language: String,
    /// The `webhook-id` header: the same for every attempt of one event.
    pub event_id: String,
    pub url: String,
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub at: DateTime<Utc>,
}

pub async fn record(db: &Db, d: &Delivery) -> Result<(), DbError> {
    db.execute(
        &query!("deliveries/record"),
        &[
            &d.job_id,
            &d.language,
            &d.event_id,
            &d.url,
            &d.attempt,
            &d.status_code,
            &d.error,
            &d.duration_ms,
        ],
    )
    .await?;
    Ok(())
}

/// The attempts for a job of `tenant`, oldest first; another tenant's job
/// is not found.
pub async fn for_job(db: &Db, tenant: TenantId, job: JobId) -> Result<Vec<Delivery>, DbError> {
    let rows = db
        .rows(&query!("deliveries/for_job"), &[&job, &tenant])
        .await?;
    if rows.is_empty() {
        return Err(DbError::NotFound);
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        // The job's row with no attempt: it has none.
        if r.try_get::<_, Option<i64>>("delivery_id")?.is_none() {
            continue;
        }
        out.push(Delivery {
            job_id: r.try_get("job_id")?,
            language: r.try_get("language")?,
            event_id: r.try_get("event_id")?,
            url: r.try_get("url")?,
            attempt: r.try_get("attempt")?,
            status_code: r.try_get("status_code")?,
            error: r.try_get("error")?,
            duration_ms: r.try_get("duration_ms")?,
            at: r.try_get("at")?,
        });
    }
    Ok(out)
}
