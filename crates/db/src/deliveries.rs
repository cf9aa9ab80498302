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
    db.client()
        .await?
        .execute(
            "INSERT INTO webhook_deliveries (job_id, language, event_id, url, attempt,
                                             status_code, error, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &d.job_id.0,
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
    let client = db.client().await?;
    client
        .query_opt(
            "SELECT 1 FROM jobs WHERE id = $1 AND tenant_id = $2",
            &[&job.0, &tenant.0],
        )
        .await?
        .ok_or(DbError::NotFound)?;
    let rows = client
        .query(
            "SELECT job_id, language, event_id, url, attempt, status_code, error, duration_ms, at
             FROM webhook_deliveries WHERE job_id = $1 ORDER BY id",
            &[&job.0],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Delivery {
            job_id: JobId(r.get(0)),
            language: r.get(1),
            event_id: r.get(2),
            url: r.get(3),
            attempt: r.get(4),
            status_code: r.get(5),
            error: r.get(6),
            duration_ms: r.get(7),
            at: r.get(8),
        })
        .collect())
}
