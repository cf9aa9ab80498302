//! Worker processes and their leases. A process announces itself, renews
//! one lease for everything it holds (one write per interval, however many
//! stages it runs), and learns at each renewal which of its runs it lost.
//! The janitor queues again the runs of a process whose lease ran out.

use std::collections::HashSet;
use std::time::Duration;

use voxline_core::{Stage, StageRunId, StageRunStatus};

use crate::runs::{Claimed, grouped, job_level_stages, open_task_states};
use crate::{Db, DbError};

/// What a renewal learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewal {
    /// The lease is renewed; these runs are no longer the worker's
    /// (cancelled, or taken over): stop them.
    Renewed { lost: Vec<StageRunId> },
    /// The worker's lease had run out and the janitor took everything it
    /// held: stop it all, and announce the worker again.
    Expired,
}

/// Announces worker `id` (serving `stage`, for the janitor none) with a lease of `lease`.
pub async fn register(
    db: &Db,
    id: &str,
    stage: Option<Stage>,
    lease: Duration,
) -> Result<(), DbError> {
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    db.execute(
        &query!("workers/register"),
        &[
            &id,
            &stage,
            &host,
            &(std::process::id() as i32),
            &lease.as_secs_f64(),
        ],
    )
    .await?;
    Ok(())
}

/// Renews worker `id`'s lease for `lease` and checks the runs it holds
/// (`held`: run and attempt).
pub async fn renew(
    db: &Db,
    id: &str,
    lease: Duration,
    held: &[(StageRunId, i32)],
) -> Result<Renewal, DbError> {
    let (runs, attempts): (Vec<StageRunId>, Vec<i32>) = held.iter().copied().unzip();
    let rows = db
        .rows(
            &query!("workers/renew"),
            &[
                &id,
                &lease.as_secs_f64(),
                &runs,
                &attempts,
                &StageRunStatus::Running,
            ],
        )
        .await?;
    let mut lost = Vec::new();
    for r in &rows {
        match r.try_get::<_, Option<StageRunId>>("lost")? {
            Some(run) => lost.push(run),
            None => return Ok(Renewal::Expired),
        }
    }
    Ok(Renewal::Renewed { lost })
}

/// Worker `id` stopped, holding nothing.
pub async fn leave(db: &Db, id: &str) -> Result<(), DbError> {
    db.execute(&query!("workers/leave"), &[&id]).await?;
    Ok(())
}

/// Whose runs [`orphaned`] looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orphans {
    /// Runs of workers whose lease ran out; costs a scan of the open runs
    /// only while such a worker exists.
    OfDeadWorkers,
    /// Also runs whose holder has no row at all (it never announced
    /// itself, or left without handing them back): always a scan.
    All,
}

/// Up to `limit` runs held by workers whose lease ran out, claimed as their
/// holder had them (the lease names the dead worker, so applying an
/// outcome to one is fenced against that worker coming back).
pub async fn orphaned(db: &Db, limit: i64, whose: Orphans) -> Result<Vec<Claimed>, DbError> {
    let rows = db
        .rows(
            &query!("workers/orphaned"),
            &[
                &StageRunStatus::Running,
                &limit,
                &open_task_states(),
                &job_level_stages(),
                &(whose == Orphans::All),
            ],
        )
        .await?;
    let owner = |r: &tokio_postgres::Row| r.try_get::<_, String>("lease_owner").unwrap_or_default();
    Ok(grouped(&rows, owner)?.into_values().collect())
}

/// Forgets workers dead for over `after` that hold nothing.
pub async fn forget_dead(db: &Db, after: Duration) -> Result<u64, DbError> {
    db.execute(
        &query!("workers/forget_dead"),
        &[&after.as_secs_f64(), &StageRunStatus::Running],
    )
    .await
}

/// The workers of `stage` with a live lease.
pub async fn alive(db: &Db, stage: Stage) -> Result<HashSet<String>, DbError> {
    db.rows(&query!("workers/alive"), &[&stage])
        .await?
        .iter()
        .map(|r| Ok(r.try_get("id")?))
        .collect()
}
