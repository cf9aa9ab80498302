//! The credit ledger. A task's price is fixed when its job is made; the job
//! reserves the sum (refused with the shortfall when the balance cannot
//! cover it); each task, once final, releases its reservation and, if it
//! completed, is charged its price. Entries are keyed by (task, kind,
//! round), so redelivered stages, retried requests and crashes between
//! steps can never write one twice: the balance is exact.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use voxline_core::{Credits, JobId, TaskId, TaskStatus, TenantId};

use crate::pool::{execute, row};
use crate::{Db, DbError};

/// A tenant's credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance {
    /// Granted, less charged, less still reserved: what new jobs may use.
    pub available: Credits,
    /// Held by jobs still running.
    pub reserved: Credits,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i64,
    pub job_id: Option<JobId>,
    pub task_id: Option<TaskId>,
    pub kind: String,
    pub amount: Credits,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The task states that hold no reservation (final ones).
fn ended() -> Vec<TaskStatus> {
    TaskStatus::ALL
        .iter()
        .copied()
        .filter(|s| s.is_final())
        .collect()
}

pub async fn balance(client: &impl GenericClient, tenant: TenantId) -> Result<Balance, DbError> {
    let r = row(client, &query!("credits/balance"), &[&tenant])
        .await?
        .ok_or(DbError::NotFound)?;
    Ok(Balance {
        available: Credits(r.try_get("available")?),
        reserved: Credits(r.try_get("reserved")?),
    })
}

/// Adds credits to a tenant (an administrator's grant); returns the balance.
pub async fn grant(
    db: &Db,
    tenant: TenantId,
    amount: Credits,
    note: &str,
) -> Result<Balance, DbError> {
    let client = db.client().await?;
    execute(
        &client,
        &query!("credits/grant"),
        &[&tenant, &amount.0, &note],
    )
    .await?;
    balance(&client, tenant).await
}

/// Reserves the price of a job's open tasks for their current round (a
/// retry is a new round), or answers the shortfall. Runs inside the
/// caller's transaction, which holds the tenant's creation lock, so two
/// jobs cannot spend one balance.
pub(crate) async fn reserve(
    tx: &impl GenericClient,
    tenant: TenantId,
    job: JobId,
) -> Result<Result<(), (Credits, Credits)>, DbError> {
    let ended = ended();
    let needed: i64 = row(tx, &query!("credits/unreserved"), &[&job, &ended])
        .await?
        .ok_or(DbError::NotFound)?
        .try_get("needed")?;
    if needed == 0 {
        return Ok(Ok(()));
    }
    let available = balance(tx, tenant).await?.available;
    if available.0 < needed {
        return Ok(Err((Credits(needed), available)));
    }
    execute(tx, &query!("credits/reserve"), &[&job, &tenant, &ended]).await?;
    Ok(Ok(()))
}

/// Settles every ended task of a job (idempotent).
pub(crate) async fn settle(tx: &impl GenericClient, job: JobId) -> Result<(), DbError> {
    execute(
        tx,
        &query!("credits/settle"),
        &[&job, &ended(), &TaskStatus::Completed],
    )
    .await?;
    Ok(())
}

/// A tenant's most recent entries, newest first.
pub async fn entries(db: &Db, tenant: TenantId, limit: i64) -> Result<Vec<Entry>, DbError> {
    db.rows(&query!("credits/entries"), &[&tenant, &limit])
        .await?
        .iter()
        .map(|r| {
            Ok(Entry {
                id: r.try_get("id")?,
                job_id: r.try_get("job_id")?,
                task_id: r.try_get("task_id")?,
                kind: r.try_get("kind")?,
                amount: Credits(r.try_get("amount")?),
                note: r.try_get("note")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}
