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
    /// The W3C trace context of the request that created the job: the
    /// stage's span is its child. Empty when the job was made untraced.
    pub traceparent: String,
}

/// The SQL expression of a run's trace context (`r` is the run's row).
pub(crate) const RUN_TRACEPARENT: &str = "(SELECT j.traceparent FROM jobs j WHERE j.id = r.job_id)";

pub(crate) async fn push(
    tx: &impl GenericClient,
    run_id: StageRunId,
    stage: Stage,
    attempt: i32,
    not_before: DateTime<Utc>,
) -> Result<Dispatch, DbError> {
    let row = tx
        .query_one(
            &format!(
                "INSERT INTO outbox (stage_run_id, stage, attempt, not_before)
                 VALUES ($1, $2, $3, $4)
                 RETURNING id, (SELECT {RUN_TRACEPARENT} FROM stage_runs r WHERE r.id = $1)"
            ),
            &[&run_id.0, &stage.as_str(), &attempt, &not_before],
        )
        .await?;
    Ok(Dispatch {
        outbox_id: Some(row.get(0)),
        run_id,
        stage,
        attempt,
        not_before,
        traceparent: row.get::<_, Option<String>>(1).unwrap_or_default(),
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
            &format!(
                "SELECT o.id, o.stage_run_id, o.stage, o.attempt, o.not_before, {RUN_TRACEPARENT}
                 FROM outbox o JOIN stage_runs r ON r.id = o.stage_run_id
                 WHERE o.created_at < now() - $1::float8 * interval '1 second'
                 ORDER BY o.id LIMIT $2"
            ),
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
                traceparent: r.get(5),
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
            &format!(
                "SELECT r.id, r.stage, r.attempt, r.run_after, {RUN_TRACEPARENT} FROM stage_runs r
                 WHERE r.status = 'queued' AND r.run_after <= now()
                   AND greatest(coalesce(r.last_dispatched_at, r.created_at), r.run_after)
                       < now() - $1::float8 * interval '1 second'
                 ORDER BY r.run_after LIMIT $2"
            ),
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
                traceparent: r.get(4),
            })
        })
        .collect()
}
