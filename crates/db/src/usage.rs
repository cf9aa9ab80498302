//! Reading the usage ledger: every engine call's consumption and estimated
//! cost, per job and per tenant over a period.

use chrono::{DateTime, Utc};
use voxline_core::TenantId;

use crate::{Db, DbError};

/// One engine call of a job.
#[derive(Debug, Clone, serde::Deserialize)]
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

impl GroupBy {
    /// The word `queries/usage/totals.sql` groups by.
    fn as_str(self) -> &'static str {
        match self {
            GroupBy::Engine => "engine",
            GroupBy::Stage => "stage",
            GroupBy::Day => "day",
        }
    }
}

/// A tenant's usage in `[from, to)`, summed per group and unit.
pub async fn totals(
    db: &Db,
    tenant: TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group_by: GroupBy,
) -> Result<Vec<Total>, DbError> {
    db.rows(
        &query!("usage/totals"),
        &[&tenant, &from, &to, &group_by.as_str()],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(Total {
            key: r.try_get("key")?,
            unit: r.try_get("unit")?,
            calls: r.try_get("calls")?,
            failed_calls: r.try_get("failed_calls")?,
            units: r.try_get("units")?,
            cost_usd: r.try_get("cost_usd")?,
        })
    })
    .collect()
}
