//! Progress events of jobs: the Server-Sent Events stream reads them.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use voxline_core::JobId;
use voxline_core::state::EventKind;

use crate::pool::execute;
use crate::{Db, DbError};

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    pub language: Option<String>,
    pub stage: Option<String>,
    pub data: serde_json::Value,
}

pub(crate) async fn record(
    tx: &impl GenericClient,
    job: JobId,
    kind: EventKind,
    language: Option<&str>,
    stage: Option<&str>,
    data: serde_json::Value,
) -> Result<(), DbError> {
    execute(
        tx,
        &query!("events/record"),
        &[&job, &kind, &language, &stage, &data],
    )
    .await?;
    Ok(())
}

/// The id of the newest event of each of `jobs` that has one.
pub async fn latest(db: &Db, jobs: &[JobId]) -> Result<Vec<(JobId, i64)>, DbError> {
    db.rows(&query!("events/latest"), &[&jobs])
        .await?
        .iter()
        .filter_map(|r| {
            let latest: Result<Option<i64>, _> = r.try_get("latest");
            match latest {
                Ok(Some(id)) => Some(
                    r.try_get("job_id")
                        .map(|job| (job, id))
                        .map_err(DbError::from),
                ),
                Ok(None) => None,
                Err(e) => Some(Err(e.into())),
            }
        })
        .collect()
}

/// Events of a job after `after_id`, oldest first.
pub async fn since(db: &Db, job: JobId, after_id: i64, limit: i64) -> Result<Vec<Event>, DbError> {
    db.rows(&query!("events/since"), &[&job, &after_id, &limit])
        .await?
        .iter()
        .map(|r| {
            Ok(Event {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                kind: r.try_get("kind")?,
                language: r.try_get("language")?,
                stage: r.try_get("stage")?,
                data: r.try_get("data")?,
            })
        })
        .collect()
}
