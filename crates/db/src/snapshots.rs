//! A job as its readers see it (the job, its tasks, runs, files and usage),
//! with the version that tells whether it changed since it was last read:
//! the number of events the job has had (`queries/snapshots/versions.sql`
//! says why a count and not an event id). Reads come in batches: one
//! statement checks every job's version, and the jobs that changed are read
//! together, at one snapshot, so each version names exactly what was read.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio_postgres::{IsolationLevel, Row};
use voxline_core::{JobId, Stage, StageRunStatus, TenantId};

use crate::artifacts::Artifact;
use crate::pool::rows;
use crate::rows::{Job, Task};
use crate::usage::Record;
use crate::{Db, DbError};

/// A job a reader asks for, with the version of it the reader holds.
#[derive(Debug, Clone, Copy)]
pub struct Wanted {
    pub job: JobId,
    /// Another tenant's job is not found.
    pub tenant: TenantId,
    pub known: Option<i64>,
}

/// What a reader finds of the job it asked for.
#[derive(Debug)]
pub enum Seen {
    /// No such job of the tenant.
    Missing,
    /// The job is as the reader's version has it.
    Unchanged,
    Changed(Box<Snapshot>),
}

/// Everything a job's views show, as of one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub version: i64,
    pub job: Job,
    /// In the order the client listed the languages.
    pub tasks: Vec<Task>,
    /// In creation order.
    pub runs: Vec<RunSummary>,
    pub artifacts: Vec<Artifact>,
    /// Every engine call, in the order they were recorded.
    pub usage: Vec<Record>,
}

/// A stage run as the job's views show it.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub language: String,
    pub stage: Stage,
    pub status: StageRunStatus,
    pub attempts: i32,
    pub failures: i32,
    pub engine: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One answer per wanted job, in order.
pub async fn read(db: &Db, wanted: &[Wanted]) -> Result<Vec<Seen>, DbError> {
    let mut client = db.client().await?;
    let current = versions(&client, wanted).await?;
    let mut seen: Vec<Seen> = wanted
        .iter()
        .zip(&current)
        .map(|(w, v)| match v {
            None => Seen::Missing,
            Some(v) if w.known == Some(*v) => Seen::Unchanged,
            // Read below.
            Some(_) => Seen::Missing,
        })
        .collect();
    let changed: Vec<usize> = (0..wanted.len())
        .filter(|&i| current[i].is_some_and(|v| wanted[i].known != Some(v)))
        .collect();
    if changed.is_empty() {
        return Ok(seen);
    }
    let asked: Vec<Wanted> = changed.iter().map(|&i| wanted[i]).collect();
    let ids: Vec<JobId> = asked.iter().map(|w| w.job).collect();
    // The versions again, with the jobs, all at one snapshot.
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let by_id: &[&(dyn tokio_postgres::types::ToSql + Sync)] = &[&ids];
    // Sent together: one round trip for all six.
    let (versions, jobs, tasks, runs, files, usage) = tokio::try_join!(
        versions(&tx, &asked),
        rows(&tx, &query!("snapshots/jobs"), by_id),
        rows(&tx, &query!("snapshots/tasks"), by_id),
        rows(&tx, &query!("snapshots/runs"), by_id),
        rows(&tx, &query!("snapshots/artifacts"), by_id),
        rows(&tx, &query!("snapshots/usage"), by_id),
    )?;
    tx.commit().await?;
    // A job asked for twice in one batch is read once and answered twice.
    let jobs: HashMap<JobId, Job> = jobs
        .iter()
        .map(|r| crate::rows::job(r).map(|j| (j.id, j)))
        .collect::<Result<_, _>>()?;
    let tasks = grouped(&tasks, crate::rows::task)?;
    let runs = grouped(&runs, summary)?;
    let files = grouped(&files, crate::artifacts::from_row)?;
    let usage = grouped(&usage, crate::usage::record)?;
    for ((i, w), version) in changed.into_iter().zip(&asked).zip(versions) {
        let (Some(version), Some(job)) = (version, jobs.get(&w.job)) else {
            continue; // deleted meanwhile: missing
        };
        seen[i] = Seen::Changed(Box::new(Snapshot {
            version,
            job: job.clone(),
            tasks: of(&tasks, &w.job),
            runs: of(&runs, &w.job),
            artifacts: of(&files, &w.job),
            usage: of(&usage, &w.job),
        }));
    }
    Ok(seen)
}

/// Each wanted job's version, or `None` when the tenant has no such job.
async fn versions(
    client: &impl deadpool_postgres::GenericClient,
    wanted: &[Wanted],
) -> Result<Vec<Option<i64>>, DbError> {
    let ids: Vec<JobId> = wanted.iter().map(|w| w.job).collect();
    let tenants: Vec<TenantId> = wanted.iter().map(|w| w.tenant).collect();
    let mut out = vec![None; wanted.len()];
    for r in rows(client, &query!("snapshots/versions"), &[&ids, &tenants]).await? {
        let i: i64 = r.try_get("i")?;
        if let Some(slot) = out.get_mut(i as usize - 1) {
            *slot = Some(r.try_get("version")?);
        }
    }
    Ok(out)
}

/// The rows of `job` in `grouped` rows.
fn of<T: Clone>(grouped: &HashMap<JobId, Vec<T>>, job: &JobId) -> Vec<T> {
    grouped.get(job).cloned().unwrap_or_default()
}

/// Rows decoded by `decode`, grouped by their `job_id` (kept in order).
fn grouped<T>(
    rows: &[Row],
    decode: impl Fn(&Row) -> Result<T, DbError>,
) -> Result<HashMap<JobId, Vec<T>>, DbError> {
    let mut out: HashMap<JobId, Vec<T>> = HashMap::new();
    for r in rows {
        out.entry(r.try_get("job_id")?)
            .or_default()
            .push(decode(r)?);
    }
    Ok(out)
}

fn summary(r: &Row) -> Result<RunSummary, DbError> {
    Ok(RunSummary {
        language: r.try_get("language")?,
        stage: r.try_get("stage")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempt")?,
        failures: r.try_get("failures")?,
        engine: r.try_get("engine")?,
        error_code: r.try_get("error_code")?,
        error_message: r.try_get("error_message")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}
