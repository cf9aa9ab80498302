//! A job as its readers see it (the job, its tasks, runs, files and usage),
//! with the version that tells whether it changed since it was last read:
//! the number of events the job has had (`queries/snapshots/read.sql` says
//! why a count and not an event id). Reads come in batches, and a batch is
//! one statement: it answers every job's version, and with it what changed
//! in each job whose version is not the one its reader holds, all at one
//! snapshot, so each version names exactly what was read. What changed is
//! the tasks' progress alone when progress reports are all that happened
//! (the common case while a job runs and its clients poll), and otherwise
//! the job whole.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio_postgres::types::Json;
use voxline_core::state::EventKind;
use voxline_core::{JobId, Stage, StageRunStatus, TaskId, TenantId};

use crate::artifacts::Artifact;
use crate::rows::{Job, Task};
use crate::usage::Record;
use crate::{Db, DbError};

/// Which state of a job a snapshot shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// How many events the job had had: it moves with every change.
    pub events: i64,
    /// The newest of those events, so the next read can tell which came
    /// since.
    pub last_event: i64,
}

/// A job a reader asks for, with the version of it the reader holds.
#[derive(Debug, Clone, Copy)]
pub struct Wanted {
    pub job: JobId,
    /// Another tenant's job is not found.
    pub tenant: TenantId,
    pub known: Option<Version>,
}

/// What a reader finds of the job it asked for.
#[derive(Debug)]
pub enum Seen {
    /// No such job of the tenant.
    Missing,
    /// The job is as the reader's version has it.
    Unchanged,
    /// Only progress was reported since the reader's version: the reader's
    /// snapshot moved forward by it (`Snapshot::progressed`) is the job now.
    Progressed(Progress),
    Changed(Box<Snapshot>),
}

/// The tasks' progress at a version of the job, the only change since the
/// version its reader holds.
#[derive(Debug, Clone)]
pub struct Progress {
    pub version: Version,
    pub tasks: Vec<TaskProgress>,
}

/// What a progress report changes in a task (`queries/runs/progress.sql`).
#[derive(Debug, Clone, Deserialize)]
pub struct TaskProgress {
    pub id: TaskId,
    pub progress: f64,
    pub message: String,
    pub updated_at: DateTime<Utc>,
}

/// Everything a job's views show, as of one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub version: Version,
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

impl Snapshot {
    /// This snapshot moved forward by `progress`, or `None` if `progress`
    /// names a task it does not have (it is not of this job, or not of a
    /// version that followed this one): the reader reads the job whole.
    pub fn progressed(&self, progress: &Progress) -> Option<Snapshot> {
        let mut next = self.clone();
        next.version = progress.version;
        for p in &progress.tasks {
            let task = next.tasks.iter_mut().find(|t| t.id == p.id)?;
            task.progress = p.progress;
            task.message.clone_from(&p.message);
            task.updated_at = p.updated_at;
        }
        Some(next)
    }
}

/// One answer per wanted job, in order: one statement for the whole batch,
/// changed jobs and unchanged alike.
pub async fn read(db: &Db, wanted: &[Wanted]) -> Result<Vec<Seen>, DbError> {
    let ids: Vec<JobId> = wanted.iter().map(|w| w.job).collect();
    let tenants: Vec<TenantId> = wanted.iter().map(|w| w.tenant).collect();
    let events: Vec<Option<i64>> = wanted.iter().map(|w| w.known.map(|k| k.events)).collect();
    let last: Vec<Option<i64>> = wanted
        .iter()
        .map(|w| w.known.map(|k| k.last_event))
        .collect();
    let mut seen: Vec<Seen> = wanted.iter().map(|_| Seen::Missing).collect();
    let rows = db
        .rows(
            &query!("snapshots/read"),
            &[&ids, &tenants, &events, &last, &EventKind::StageProgress],
        )
        .await?;
    for r in rows {
        let i: i64 = r.try_get("i")?;
        let version = Version {
            events: r.try_get("version")?,
            // Every job has had its `job_created` event.
            last_event: r.try_get::<_, Option<i64>>("last_event")?.unwrap_or(0),
        };
        let Some(slot) = seen.get_mut(i as usize - 1) else {
            continue;
        };
        *slot = match r.try_get::<_, Option<Json<Change>>>("change")? {
            None => Seen::Unchanged,
            Some(Json(Change::Progressed(tasks))) => Seen::Progressed(Progress { version, tasks }),
            Some(Json(Change::Whole(c))) => Seen::Changed(Box::new(Snapshot {
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

/// What changed since the reader's version, as the statement sends it.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Change {
    Progressed(Vec<TaskProgress>),
    Whole(Box<Contents>),
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
