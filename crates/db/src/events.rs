//! Progress events of jobs: the Server-Sent Events stream reads them.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use voxline_core::JobId;

use crate::{Db, DbError};

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub language: Option<String>,
    pub stage: Option<String>,
    pub data: serde_json::Value,
}

pub(crate) async fn record(
    tx: &impl GenericClient,
    job: JobId,
    kind: &str,
    language: Option<&str>,
    stage: Option<&str>,
    data: serde_json::Value,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO job_events (job_id, kind, language, stage, data) VALUES ($1, $2, $3, $4, $5)",
        &[&job.0, &kind, &language, &stage, &data],
    )
    .await?;
    Ok(())
}

/// Events of a job after `after_id`, oldest first.
pub async fn since(db: &Db, job: JobId, after_id: i64, limit: i64) -> Result<Vec<Event>, DbError> {
    let rows = db
        .client()
        .await?
        .query(
            "SELECT id, at, kind, language, stage, data FROM job_events
             WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            &[&job.0, &after_id, &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Event {
            id: r.get(0),
            at: r.get(1),
            kind: r.get(2),
            language: r.get(3),
            stage: r.get(4),
            data: r.get(5),
        })
        .collect())
}
