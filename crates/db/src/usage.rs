//! Reading the usage ledger: every engine call's consumption and estimated
//! cost, per job and per tenant over a period.

use chrono::{DateTime, Utc};
use voxline_core::{JobId, TenantId};

use crate::{Db, DbError};

/// One engine call of a job.
#[derive(Debug, Clone)]
pub struct Record {
    /// How many calls the row sums (a stage may call an engine per line).
    pub calls: i32,
    pub stage: Option<String>,
    pub language: Option<String>,
    pub engine: String,
    pub unit: String,
    pub units: f64,
    pub cost_usd: f64,
    pub latency_ms: i64,
    pub ok: bool,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// How a period's usage is summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Engine,
    Stage,
    Day,
}

/// One group's sums.
#[derive(Debug, Clone)]
pub struct Total {
    /// The engine, the stage, or the day (`YYYY-MM-DD`, UTC).
    pub key: String,
    pub unit: String,
    pub calls: i64,
    pub failed_calls: i64,
    pub units: f64,
    pub cost_usd: f64,
}

pub async fn for_job(db: &Db, job: JobId) -> Result<Vec<Record>, DbError> {
    let rows = db
        .client()
        .await?
        .query(
            "SELECT stage, language, engine, unit, units, cost_usd, latency_ms, ok, error, created_at, calls
             FROM usage_records WHERE job_id = $1 ORDER BY id",
            &[&job.0],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Record {
            stage: r.get(0),
            language: r.get(1),
            engine: r.get(2),
            unit: r.get(3),
            units: r.get(4),
            cost_usd: r.get(5),
            latency_ms: r.get(6),
            ok: r.get(7),
            error: r.get(8),
            created_at: r.get(9),
            calls: r.get(10),
        })
        .collect())
}

/// A tenant's usage in `[from, to)`, summed per group and unit.
pub async fn totals(
    db: &Db,
    tenant: TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group_by: GroupBy,
) -> Result<Vec<Total>, DbError> {
    let key = match group_by {
        GroupBy::Engine => "u.engine",
        GroupBy::Stage => "coalesce(u.stage, '')",
        GroupBy::Day => "to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    };
    let rows = db
        .client()
        .await?
        .query(
            &format!(
                "SELECT {key} AS k, u.unit, coalesce(sum(u.calls), 0)::bigint,
                        coalesce(sum(u.calls) FILTER (WHERE NOT u.ok), 0)::bigint,
                        coalesce(sum(u.units), 0), coalesce(sum(u.cost_usd), 0)
                 FROM usage_records u
                 WHERE u.tenant_id = $1 AND u.created_at >= $2 AND u.created_at < $3
                 GROUP BY k, u.unit ORDER BY k, u.unit"
            ),
            &[&tenant.0, &from, &to],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Total {
            key: r.get(0),
            unit: r.get(1),
            calls: r.get(2),
            failed_calls: r.get(3),
            units: r.get(4),
            cost_usd: r.get(5),
        })
        .collect())
}
