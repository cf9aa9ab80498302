//! A job as its readers see it (the job, its tasks, runs, files and usage),
//! with the version that tells whether it changed since it was last read:
//! the number of events the job has had (`queries/snapshots/read.sql` says
//! why a count and not an event id). Reads come in batches, and a batch is
//! one statement: it answers every job's version, and with it the contents
//! of each job whose version is not the one its reader holds, all at one
//! snapshot, so each version names exactly what was read.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio_postgres::types::Json;
use voxline_core::{JobId, Stage, StageRunStatus, TenantId};

use crate::artifacts::Artifact;
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
#[derive(Debug, Clone, Deserialize)]
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

/// One answer per wanted job, in order: one statement for the whole batch,
/// changed jobs and unchanged alike.
pub async fn read(db: &Db, wanted: &[Wanted]) -> Result<Vec<Seen>, DbError> {
    let ids: Vec<JobId> = wanted.iter().map(|w| w.job).collect();
    let tenants: Vec<TenantId> = wanted.iter().map(|w| w.tenant).collect();
    let known: Vec<Option<i64>> = wanted.iter().map(|w| w.known).collect();
    let mut seen: Vec<Seen> = wanted.iter().map(|_| Seen::Missing).collect();
    for r in db
        .rows(&query!("snapshots/read"), &[&ids, &tenants, &known])
        .await?
    {
        let i: i64 = r.try_get("i")?;
        let version: i64 = r.try_get("version")?;
        let Some(slot) = seen.get_mut(i as usize - 1) else {
            continue;
        };
        *slot = match r.try_get::<_, Option<Json<Contents>>>("snapshot")? {
            None => Seen::Unchanged,
            Some(Json(c)) => Seen::Changed(Box::new(Snapshot {
                version,
                job: c.job,
                tasks: c.tasks,
                runs: c.runs,
                artifacts: c.artifacts,
                usage: c.usage,
            })),
        };
    }
    Ok(seen)
}

/// A snapshot's contents as the statement sends them.
#[derive(Deserialize)]
struct Contents {
    job: Job,
    tasks: Vec<Task>,
    runs: Vec<RunSummary>,
    artifacts: Vec<Artifact>,
    usage: Vec<Record>,
}
