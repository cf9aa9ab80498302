//! The credit ledger. A task's price is fixed when its job is made; the job
//! reserves the sum (refused with the shortfall when the balance cannot
//! cover it); each task, once final, releases its reservation and, if it
//! completed, is charged its price. Entries are keyed by (task, kind,
//! round), so redelivered stages, retried requests and crashes between
//! steps can never write one twice: the balance is exact.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use voxline_core::{Credits, JobId, TaskId, TenantId};

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

pub async fn balance(client: &impl GenericClient, tenant: TenantId) -> Result<Balance, DbError> {
    let row = client
        .query_one(
            "SELECT coalesce(sum(amount), 0)::bigint,
                    coalesce(-sum(amount) FILTER (WHERE kind IN ('reserve', 'release')), 0)::bigint
             FROM credit_entries WHERE tenant_id = $1",
            &[&tenant.0],
        )
        .await?;
    Ok(Balance {
        available: Credits(row.get(0)),
        reserved: Credits(row.get(1)),
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
    client
        .execute(
            "INSERT INTO credit_entries (tenant_id, kind, amount, note) VALUES ($1, 'grant', $2, $3)",
            &[&tenant.0, &amount.0, &note],
        )
        .await?;
    balance(&client, tenant).await
}

/// The tasks of job `$1` that are to run and hold no reservation for their
/// current round yet.
const UNRESERVED: &str = "job_id = $1 AND credits IS NOT NULL
    AND status NOT IN ('completed', 'failed', 'cancelled')
    AND NOT EXISTS (SELECT 1 FROM credit_entries r WHERE r.task_id = tasks.id
                    AND r.kind = 'reserve' AND r.round = tasks.credit_round)";

/// Reserves the price of a job's tasks that are to run, for their current
/// round (a retry is a new round), or refuses with the shortfall. Runs inside the caller's transaction, which
/// holds the tenant's creation lock, so two jobs cannot spend one balance.
pub(crate) async fn reserve(
    tx: &impl GenericClient,
    tenant: TenantId,
    job: JobId,
) -> Result<(), DbError> {
    let needed: i64 = tx
        .query_one(
            &format!("SELECT coalesce(sum(credits), 0)::bigint FROM tasks WHERE {UNRESERVED}"),
            &[&job.0],
        )
        .await?
        .get(0);
    if needed == 0 {
        return Ok(());
    }
    let available = balance(tx, tenant).await?.available;
    if available.0 < needed {
        return Err(DbError::InsufficientCredits {
            needed: Credits(needed),
            available,
        });
    }
    tx.execute(
        &format!(
            "INSERT INTO credit_entries (tenant_id, job_id, task_id, kind, round, amount)
         SELECT $2, job_id, id, 'reserve', credit_round, -credits FROM tasks
         WHERE {UNRESERVED}
         ON CONFLICT (task_id, kind, round) DO NOTHING"
        ),
        &[&job.0, &tenant.0],
    )
    .await?;
    Ok(())
}

/// Settles every final task of a job: releases its reservation of the
/// current round and charges it if it completed. Idempotent: called on
/// every status refresh of the job.
pub(crate) async fn settle(tx: &impl GenericClient, job: JobId) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO credit_entries (tenant_id, job_id, task_id, kind, round, amount)
         SELECT j.tenant_id, t.job_id, t.id, 'release', t.credit_round, t.credits
         FROM tasks t JOIN jobs j ON j.id = t.job_id
         WHERE t.job_id = $1 AND t.credits IS NOT NULL
           AND t.status IN ('completed', 'failed', 'cancelled')
           AND EXISTS (SELECT 1 FROM credit_entries r WHERE r.task_id = t.id
                       AND r.kind = 'reserve' AND r.round = t.credit_round)
         ON CONFLICT (task_id, kind, round) DO NOTHING",
        &[&job.0],
    )
    .await?;
    tx.execute(
        "INSERT INTO credit_entries (tenant_id, job_id, task_id, kind, round, amount)
         SELECT j.tenant_id, t.job_id, t.id, 'charge', 0, -t.credits
         FROM tasks t JOIN jobs j ON j.id = t.job_id
         WHERE t.job_id = $1 AND t.credits IS NOT NULL AND t.status = 'completed'
         ON CONFLICT (task_id, kind, round) DO NOTHING",
        &[&job.0],
    )
    .await?;
    Ok(())
}

/// A tenant's most recent entries, newest first.
pub async fn entries(db: &Db, tenant: TenantId, limit: i64) -> Result<Vec<Entry>, DbError> {
    let rows = db
        .client()
        .await?
        .query(
            "SELECT id, job_id, task_id, kind, amount, note, created_at FROM credit_entries
             WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2",
            &[&tenant.0, &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Entry {
            id: r.get(0),
            job_id: r.get::<_, Option<uuid::Uuid>>(1).map(JobId),
            task_id: r.get::<_, Option<uuid::Uuid>>(2).map(TaskId),
            kind: r.get(3),
            amount: Credits(r.get(4)),
            note: r.get(5),
            created_at: r.get(6),
        })
        .collect())
}
