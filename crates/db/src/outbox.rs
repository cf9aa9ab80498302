//! The outbox: dispatches decided inside a transaction, sent to Redis after
//! it commits. A row lives until Redis has the message, so a crash between
//! commit and dispatch is repaired by the reconciler, never lost.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use voxline_core::{Stage, StageRunId};

use crate::{Db, DbError};

/// One message to put on a stage's queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatch {
    pub outbox_id: Option<i64>,
    pub run_id: StageRunId,
    pub stage: Stage,
    pub attempt: i32,
    /// Not to be run before this (a retry's backoff).
    pub not_before: DateTime<Utc>,
}

pub(crate) async fn push(
    tx: &impl GenericClient,
    run_id: StageRunId,
    stage: Stage,
    attempt: i32,
    not_before: DateTime<Utc>,
) -> Result<Dispatch, DbError> {
    let row = tx
        .query_one(
            "INSERT INTO outbox (stage_run_id, stage, attempt, not_before)
             VALUES ($1, $2, $3, $4) RETURNING id",
            &[&run_id.0, &stage.as_str(), &attempt, &not_before],
        )
        .await?;
    Ok(Dispatch {
        outbox_id: Some(row.get(0)),
        run_id,
        stage,
        attempt,
        not_before,
    })
}

/// Marks dispatches as sent: their outbox rows go, and the runs remember when
/// they were last put on a queue.
pub async fn sent(db: &Db, sent: &[Dispatch]) -> Result<(), DbError> {
    if sent.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = sent.iter().filter_map(|d| d.outbox_id).collect();
    let runs: Vec<uuid::Uuid> = sent.iter().map(|d| d.run_id.0).collect();
    let client = db.client().await?;
    client
        .execute("DELETE FROM outbox WHERE id = ANY($1)", &[&ids])
        .await?;
    client
        .execute(
            "UPDATE stage_runs SET last_dispatched_at = now() WHERE id = ANY($1)",
            &[&runs],
        )
        .await?;
    Ok(())
}

/// Outbox rows older than `older_than_s` seconds: their writer crashed (or
/// Redis refused them) between commit and dispatch.
pub async fn stale(db: &Db, older_than_s: f64, limit: i64) -> Result<Vec<Dispatch>, DbError> {
    let rows = db
        .client()
        .await?
        .query(
            "SELECT id, stage_run_id, stage, attempt, not_before FROM outbox
             WHERE created_at < now() - $1::float8 * interval '1 second'
             ORDER BY id LIMIT $2",
            &[&older_than_s, &limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Dispatch {
                outbox_id: Some(r.get(0)),
                run_id: StageRunId(r.get(1)),
                stage: Stage::parse(r.get(2))?,
                attempt: r.get(3),
                not_before: r.get(4),
            })
        })
        .collect()
}

/// Queued runs that are due but were not put on a queue recently: Redis lost
/// them (a restart without persistence, a FLUSHALL, a failover) or never got them.
pub async fn overdue(db: &Db, after_s: f64, limit: i64) -> Result<Vec<Dispatch>, DbError> {
    let rows = db
        .client()
        .await?
        .query(
            "SELECT id, stage, attempt, run_after FROM stage_runs
             WHERE status = 'queued' AND run_after <= now()
               AND greatest(coalesce(last_dispatched_at, created_at), run_after)
                   < now() - $1::float8 * interval '1 second'
             ORDER BY run_after LIMIT $2",
            &[&after_s, &limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Dispatch {
                outbox_id: None,
                run_id: StageRunId(r.get(0)),
                stage: Stage::parse(r.get(1))?,
                attempt: r.get(2),
                not_before: r.get(3),
            })
        })
        .collect()
}
