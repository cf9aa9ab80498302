//! Stage runs: the lease protocol every worker follows.
//!
//! A run is claimed only while `queued` and due; the claim bumps `attempt`,
//! which is the fencing token. Renewing the lease, reporting progress,
//! committing and failing all require the current token and owner, so a
//! worker that stalled past its lease (or whose job was cancelled) cannot
//! overwrite what happened after. Committing records the artifacts and usage,
//! schedules the next stages and writes their outbox rows in one transaction.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use deadpool_postgres::GenericClient;
use voxline_core::{JobId, Stage, StageRunId};

use crate::artifacts::{self, NewArtifact};
use crate::jobs::{self, Job};
use crate::outbox::{self, Dispatch, RUN_TRACEPARENT};
use crate::{Db, DbError, events};

/// The right to work on a run: only its holder may renew, commit or fail it.
#[derive(Debug, Clone)]
pub struct Lease {
    pub run_id: StageRunId,
    pub token: i32,
    pub owner: String,
}

/// A claimed run with what its stage needs to know about the job.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub lease: Lease,
    pub job: Job,
    pub language: String,
    pub stage: Stage,
    /// Failed attempts so far (not counting this one).
    pub failures: i32,
    pub max_attempts: i32,
    /// The traceparent of the run's previous attempt (empty before the
    /// second): this attempt's span links to it.
    pub earlier_attempt: String,
}

/// One engine call's consumption, recorded with the commit.
#[derive(Debug, Clone)]
pub struct Usage {
    pub engine: String,
    pub unit: String,
    pub units: f64,
    pub latency_ms: i64,
    /// Estimated from the price table.
    pub cost_usd: f64,
    /// How many calls this row sums.
    pub calls: i64,
    pub ok: bool,
    /// The first failure's reason, for a row of failed calls.
    pub error: Option<String>,
}

/// What a successful stage hands back.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    /// A small summary kept on the run (counts, engine, notes).
    pub output: serde_json::Value,
    pub engine: Option<String>,
    pub artifacts: Vec<NewArtifact>,
    pub usage: Vec<Usage>,
    /// Statistics for the task (a render's stretch figures).
    pub task_stats: Option<serde_json::Value>,
    /// A note for people, shown as the task's message (e.g. "no speech detected").
    pub note: Option<String>,
}

/// Why a stage failed, as the runner classified it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: String,
    pub message: String,
    /// Transient failures are retried with backoff; others fail the task at once.
    pub transient: bool,
}

/// What became of a failed attempt.
#[derive(Debug)]
pub enum FailOutcome {
    Retrying(Dispatch),
    Failed,
}

/// The lease was lost: the run was cancelled, or another worker took it over.
pub const LEASE_LOST: &str = "lease lost";

/// Claims a run for `owner`, or `None` when it is not due, already taken,
/// finished or cancelled (a duplicate delivery: acknowledge and move on).
///
/// `attempt_traceparent` is this attempt's span; the run keeps it, and the
/// claim hands back the previous attempt's, for this one to link to.
pub async fn claim(
    db: &Db,
    run: StageRunId,
    owner: &str,
    lease: Duration,
    attempt_traceparent: &str,
) -> Result<Option<Claimed>, DbError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    let Some(row) = tx
        .query_opt(
            "WITH earlier AS (SELECT attempt_span FROM stage_runs WHERE id = $1 FOR UPDATE)
             UPDATE stage_runs r
             SET status = 'running', attempt = r.attempt + 1, lease_owner = $2,
                 lease_expires_at = now() + $3::float8 * interval '1 second',
                 started_at = coalesce(r.started_at, now()), attempt_span = $4
             FROM jobs j, earlier
             WHERE r.id = $1 AND j.id = r.job_id AND r.status = 'queued'
               AND r.run_after <= now() + interval '1 second'
               AND j.status NOT IN ('cancelled', 'failed', 'completed')
             RETURNING r.job_id, r.language, r.stage, r.attempt, r.failures, r.max_attempts,
                       earlier.attempt_span",
            &[&run.0, &owner, &lease.as_secs_f64(), &attempt_traceparent],
        )
        .await?
    else {
        return Ok(None);
    };
    let job = jobs::get_any(&tx, JobId(row.get(0))).await?;
    let language: String = row.get(1);
    let stage = Stage::parse(row.get(2))?;
    let token: i32 = row.get(3);
    tx.execute(
        &format!(
            "UPDATE tasks SET status = 'running', stage = $3, message = $4, updated_at = now(),
                    started_at = coalesce(started_at, now())
             WHERE job_id = $1 AND status IN ('pending', 'running') {}",
            task_filter(stage)
        ),
        &[&job.id.0, &language, &stage.as_str(), &doing(stage)],
    )
    .await?;
    jobs::refresh_status(&tx, job.id).await?;
    events::record(
        &tx,
        job.id,
        "stage_started",
        Some(&language),
        Some(stage.as_str()),
        serde_json::json!({ "attempt": token }),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(Claimed {
        lease: Lease {
            run_id: run,
            token,
            owner: owner.to_owned(),
        },
        job,
        language,
        stage,
        failures: row.get(4),
        max_attempts: row.get(5),
        earlier_attempt: row.get(6),
    }))
}

/// Extends the lease. False means it is lost: stop working on the run.
pub async fn heartbeat(db: &Db, lease: &Lease, duration: Duration) -> Result<bool, DbError> {
    let n = db
        .client()
        .await?
        .execute(
            "UPDATE stage_runs SET lease_expires_at = now() + $4::float8 * interval '1 second'
             WHERE id = $1 AND attempt = $2 AND lease_owner = $3 AND status = 'running'",
            &[
                &lease.run_id.0,
                &lease.token,
                &lease.owner,
                &duration.as_secs_f64(),
            ],
        )
        .await?;
    Ok(n == 1)
}

/// Reports progress within a stage (0.0–1.0 of it) with a message for people.
pub async fn progress(
    db: &Db,
    claimed: &Claimed,
    fraction: f64,
    message: &str,
) -> Result<bool, DbError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    if !holds(&tx, &claimed.lease).await? {
        return Ok(false);
    }
    tx.execute(
        &format!(
            "UPDATE tasks SET message = $3, updated_at = now(),
                    progress = (array_position(stages, $4) - 1 + $5::float8) / cardinality(stages)
             WHERE job_id = $1 AND status = 'running' {}",
            task_filter(claimed.stage)
        ),
        &[
            &claimed.job.id.0,
            &claimed.language,
            &message,
            &claimed.stage.as_str(),
            &fraction.clamp(0.0, 1.0),
        ],
    )
    .await?;
    events::record(
        &tx,
        claimed.job.id,
        "stage_progress",
        Some(&claimed.language),
        Some(claimed.stage.as_str()),
        serde_json::json!({ "fraction": fraction, "message": message }),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Commits a run's success, if the lease is still held: records artifacts
/// and usage, advances the tasks, and returns the dispatches to send.
pub async fn commit(
    db: &Db,
    claimed: &Claimed,
    done: Completion,
    artifact_ttl_hours: f64,
) -> Result<Vec<Dispatch>, DbError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    let lease = &claimed.lease;
    let n = tx
        .execute(
            "UPDATE stage_runs SET status = 'succeeded', finished_at = now(), output = $4,
                    engine = $5, lease_owner = NULL, lease_expires_at = NULL,
                    error_code = NULL, error_message = NULL
             WHERE id = $1 AND attempt = $2 AND lease_owner = $3 AND status = 'running'",
            &[
                &lease.run_id.0,
                &lease.token,
                &lease.owner,
                &done.output,
                &done.engine,
            ],
        )
        .await?;
    if n != 1 {
        return Err(DbError::Conflict(LEASE_LOST.into()));
    }
    // The primary key makes a second commit of one run impossible, whatever
    // the bug; the row also lets audits count commits.
    tx.execute(
        "INSERT INTO stage_commits (stage_run_id, attempt, worker) VALUES ($1, $2, $3)",
        &[&lease.run_id.0, &lease.token, &lease.owner],
    )
    .await?;
    let job = &claimed.job;
    let stage = claimed.stage.as_str();
    artifacts::upsert(
        &tx,
        job.id,
        &claimed.language,
        stage,
        done.engine.as_deref(),
        artifact_ttl_hours,
        &done.artifacts,
    )
    .await?;
    record_usage(&tx, claimed, &done.usage).await?;
    events::record(
        &tx,
        job.id,
        "stage_succeeded",
        Some(&claimed.language),
        Some(stage),
        serde_json::json!({ "engine": done.engine, "output": done.output }),
    )
    .await?;
    let dispatch = advance(&tx, claimed, &done).await?;
    jobs::refresh_status(&tx, job.id).await?;
    tx.commit().await?;
    Ok(dispatch)
}

/// Writes the usage of an attempt that ends without a commit or a failure
/// of its own (its lease was lost, or it was handed back at shutdown): the
/// calls it made were made, and billed, all the same. Unfenced, since rows
/// are keyed by the attempt.
pub async fn record_unfinished_usage(
    db: &Db,
    claimed: &Claimed,
    usage: &[Usage],
) -> Result<(), DbError> {
    if usage.is_empty() {
        return Ok(());
    }
    record_usage(&db.client().await?, claimed, usage).await
}

/// Writes a run attempt's usage, once: rows are keyed by the attempt.
async fn record_usage(
    tx: &impl GenericClient,
    claimed: &Claimed,
    usage: &[Usage],
) -> Result<(), DbError> {
    for u in usage {
        tx.execute(
            "INSERT INTO usage_records (job_id, tenant_id, stage_run_id, attempt, engine, unit, units,
                                        latency_ms, language, stage, cost_usd, calls, ok, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (stage_run_id, attempt, engine, unit, ok) DO NOTHING",
            &[
                &claimed.job.id.0,
                &claimed.job.tenant_id.0,
                &claimed.lease.run_id.0,
                &claimed.lease.token,
                &u.engine,
                &u.unit,
                &u.units,
                &u.latency_ms,
                &claimed.language,
                &claimed.stage.as_str(),
                &u.cost_usd,
                &(u.calls as i32),
                &u.ok,
                &u.error,
            ],
        )
        .await?;
    }
    Ok(())
}

/// Moves every task this run served to its next stage (scheduling it), or
/// marks it completed when this was its last stage.
async fn advance(
    tx: &impl GenericClient,
    claimed: &Claimed,
    done: &Completion,
) -> Result<Vec<Dispatch>, DbError> {
    let job_id = claimed.job.id;
    let tasks = jobs::tasks(tx, job_id).await?;
    let mut dispatch = Vec::new();
    for task in tasks.iter().filter(|t| !t.status.is_final()) {
        if !claimed.stage.is_job_level() && task.language != claimed.language {
            continue;
        }
        let position = task
            .stages
            .iter()
            .position(|s| *s == claimed.stage)
            .unwrap_or(0);
        let note = done.note.clone();
        match task.stages.get(position + 1) {
            Some(next) => {
                let progress = (position + 1) as f64 / task.stages.len() as f64;
                tx.execute(
                    "UPDATE tasks SET stage = $2, progress = $3, message = $4, updated_at = now(),
                            stats = coalesce($5, stats)
                     WHERE id = $1",
                    &[
                        &task.id.0,
                        &next.as_str(),
                        &progress,
                        &note.unwrap_or_else(|| format!("waiting to {}", next.as_str())),
                        &done.task_stats,
                    ],
                )
                .await?;
                if let Some(d) = schedule(
                    tx,
                    job_id,
                    &task.language,
                    *next,
                    claimed.max_attempts as u32,
                )
                .await?
                {
                    dispatch.push(d);
                }
            }
            None => {
                tx.execute(
                    "UPDATE tasks SET status = 'completed', progress = 1, message = $2,
                            updated_at = now(), finished_at = now(), stats = coalesce($3, stats)
                     WHERE id = $1",
                    &[
                        &task.id.0,
                        &note.unwrap_or_else(|| "done".into()),
                        &done.task_stats,
                    ],
                )
                .await?;
                events::record(
                    tx,
                    job_id,
                    "task_completed",
                    Some(&task.language),
                    None,
                    serde_json::json!({}),
                )
                .await?;
            }
        }
    }
    Ok(dispatch)
}

/// Records a failed attempt: re-queued after `backoff` while attempts remain
/// and the fault is transient; otherwise the run and its tasks fail with the
/// error kept for the user.
pub async fn fail(
    db: &Db,
    claimed: &Claimed,
    failure: &Failure,
    backoff: Duration,
    usage: &[Usage],
) -> Result<FailOutcome, DbError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    let lease = &claimed.lease;
    let retry = failure.transient && claimed.failures + 1 < claimed.max_attempts;
    let not_before = Utc::now() + chrono::Duration::milliseconds(backoff.as_millis() as i64);
    let n = tx
        .execute(
            "UPDATE stage_runs SET failures = failures + 1, error_code = $4, error_message = $5,
                    lease_owner = NULL, lease_expires_at = NULL,
                    status = CASE WHEN $6 THEN 'queued' ELSE 'failed' END,
                    run_after = CASE WHEN $6 THEN $7 ELSE run_after END,
                    finished_at = CASE WHEN $6 THEN NULL ELSE now() END
             WHERE id = $1 AND attempt = $2 AND lease_owner = $3 AND status = 'running'",
            &[
                &lease.run_id.0,
                &lease.token,
                &lease.owner,
                &failure.code,
                &failure.message,
                &retry,
                &not_before,
            ],
        )
        .await?;
    if n != 1 {
        return Err(DbError::Conflict(LEASE_LOST.into()));
    }
    record_usage(&tx, claimed, usage).await?;
    let job = claimed.job.id;
    let stage = claimed.stage.as_str();
    let data = serde_json::json!({ "code": failure.code, "message": failure.message, "attempt": lease.token });
    let outcome = if retry {
        tx.execute(
            &format!("UPDATE tasks SET message = $3, updated_at = now() WHERE job_id = $1 AND status = 'running' {}", task_filter(claimed.stage)),
            &[&job.0, &claimed.language, &format!("{stage} failed ({}); retrying", failure.message)],
        )
        .await?;
        events::record(
            &tx,
            job,
            "stage_retrying",
            Some(&claimed.language),
            Some(stage),
            data,
        )
        .await?;
        FailOutcome::Retrying(
            outbox::push(&tx, lease.run_id, claimed.stage, lease.token, not_before).await?,
        )
    } else {
        tx.execute(
            &format!(
                "UPDATE tasks SET status = 'failed', error_code = $3, error_message = $4,
                        message = $5, updated_at = now(), finished_at = now()
                 WHERE job_id = $1 AND status IN ('pending', 'running') {}",
                task_filter(claimed.stage)
            ),
            &[
                &job.0,
                &claimed.language,
                &failure.code,
                &failure.message,
                &format!("{stage} failed"),
            ],
        )
        .await?;
        events::record(
            &tx,
            job,
            "stage_failed",
            Some(&claimed.language),
            Some(stage),
            data,
        )
        .await?;
        FailOutcome::Failed
    };
    jobs::refresh_status(&tx, job).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Gives a run back without counting a failure (a worker shutting down):
/// it is queued again at once and the returned dispatch should be sent.
pub async fn release(db: &Db, lease: &Lease, stage: Stage) -> Result<Option<Dispatch>, DbError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    let n = tx
        .execute(
            "UPDATE stage_runs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL,
                    run_after = now()
             WHERE id = $1 AND attempt = $2 AND lease_owner = $3 AND status = 'running'",
            &[&lease.run_id.0, &lease.token, &lease.owner],
        )
        .await?;
    if n != 1 {
        return Ok(None);
    }
    let d = outbox::push(&tx, lease.run_id, stage, lease.token, Utc::now()).await?;
    tx.commit().await?;
    Ok(Some(d))
}

/// Runs whose holder stopped renewing its lease (killed, partitioned,
/// stalled) are queued again. Worker losses are counted apart from the
/// stage's own failures; after `max_lost` of them the run fails with
/// `worker_lost`, since the input itself may be what kills the worker.
/// Returns the dispatches to send.
pub async fn expire_leases(db: &Db, max_lost: u32, limit: i64) -> Result<ExpiredLeases, DbError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    let rows = tx
        .query(
            "SELECT id, job_id, language, stage, attempt, lost_leases, lease_owner
             FROM stage_runs WHERE status = 'running' AND lease_expires_at < now()
             ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED",
            &[&limit],
        )
        .await?;
    let mut expired = ExpiredLeases::default();
    for r in rows {
        let (run, job, language) = (StageRunId(r.get(0)), JobId(r.get(1)), r.get::<_, String>(2));
        let stage = Stage::parse(r.get(3))?;
        let lost = r.get::<_, i32>(5) + 1;
        let give_up = lost >= max_lost as i32;
        let message = format!(
            "the worker `{}` stopped renewing its lease ({lost} worker losses)",
            r.get::<_, Option<String>>(6).unwrap_or_default()
        );
        tx.execute(
            "UPDATE stage_runs SET lost_leases = lost_leases + 1, lease_owner = NULL, lease_expires_at = NULL,
                    run_after = now(),
                    status = CASE WHEN $2 THEN 'failed' ELSE 'queued' END,
                    error_code = CASE WHEN $2 THEN 'worker_lost' ELSE error_code END,
                    error_message = CASE WHEN $2 THEN $3 ELSE error_message END,
                    finished_at = CASE WHEN $2 THEN now() END
             WHERE id = $1",
            &[&run.0, &give_up, &message],
        )
        .await?;
        let data = serde_json::json!({ "code": "worker_lost", "message": message });
        if give_up {
            tx.execute(
                &format!(
                    "UPDATE tasks SET status = 'failed', error_code = 'worker_lost', error_message = $3,
                            updated_at = now(), finished_at = now()
                     WHERE job_id = $1 AND status IN ('pending', 'running') {}",
                    task_filter(stage)
                ),
                &[&job.0, &language, &message],
            )
            .await?;
            events::record(
                &tx,
                job,
                "stage_failed",
                Some(&language),
                Some(stage.as_str()),
                data,
            )
            .await?;
            jobs::refresh_status(&tx, job).await?;
            expired.failed.push(stage);
        } else {
            events::record(
                &tx,
                job,
                "stage_retrying",
                Some(&language),
                Some(stage.as_str()),
                data,
            )
            .await?;
            expired
                .requeued
                .push(outbox::push(&tx, run, stage, r.get(4), Utc::now()).await?);
        }
    }
    tx.commit().await?;
    Ok(expired)
}

/// What expiring dead leases did.
#[derive(Debug, Default)]
pub struct ExpiredLeases {
    /// Runs queued again for another worker, to dispatch.
    pub requeued: Vec<Dispatch>,
    /// The stages of runs that lost `max_lost` workers and failed (`worker_lost`).
    pub failed: Vec<Stage>,
}

/// Creates a queued run of `stage` for (job, language) with its outbox row;
/// `None` if it already exists (effectively-once scheduling).
pub(crate) async fn schedule(
    tx: &impl GenericClient,
    job: JobId,
    language: &str,
    stage: Stage,
    max_attempts: u32,
) -> Result<Option<Dispatch>, DbError> {
    let id = StageRunId::new();
    // A publish waits for the job's `publish_at`: held in PostgreSQL, not
    // on a queue, until the janitor releases it on time.
    let held_until: Option<DateTime<Utc>> = if stage == Stage::Publish {
        tx.query_one(
            "SELECT (options->>'publish_at')::timestamptz FROM jobs WHERE id = $1",
            &[&job.0],
        )
        .await?
        .get(0)
    } else {
        None
    };
    let held_until = held_until.filter(|t| *t > Utc::now());
    let inserted = tx
        .execute(
            "INSERT INTO stage_runs (id, job_id, language, stage, status, max_attempts, run_after)
             VALUES ($1, $2, $3, $4, 'queued', $5, coalesce($6, now()))
             ON CONFLICT (job_id, language, stage) DO NOTHING",
            &[
                &id.0,
                &job.0,
                &language,
                &stage.as_str(),
                &(max_attempts as i32),
                &held_until,
            ],
        )
        .await?;
    if inserted == 0 {
        return Ok(None);
    }
    if let Some(at) = held_until {
        // The files to publish must outlive the wait: each keeps its
        // lifetime, counted from the publishing time.
        tx.execute(
            "UPDATE artifacts SET expires_at = greatest(expires_at, $3::timestamptz + (expires_at - created_at))
             WHERE job_id = $1 AND language = $2",
            &[&job.0, &language, &at],
        )
        .await?;
        tx.execute(
            &format!(
                "UPDATE tasks SET message = $3 WHERE job_id = $1 {}",
                task_filter(stage)
            ),
            &[
                &job.0,
                &language,
                &format!(
                    "publishing at {}",
                    at.to_rfc3339_opts(SecondsFormat::Secs, true)
                ),
            ],
        )
        .await?;
        return Ok(None);
    }
    Ok(Some(outbox::push(tx, id, stage, 0, Utc::now()).await?))
}

/// Runs held until a time that has come (scheduled publishes), never
/// dispatched yet: the janitor sends them.
pub async fn held_due(db: &Db, limit: i64) -> Result<Vec<Dispatch>, DbError> {
    let rows = db
        .client()
        .await?
        .query(
            &format!(
                "SELECT r.id, r.stage, r.attempt, r.run_after, {RUN_TRACEPARENT} FROM stage_runs r
                 WHERE r.status = 'queued' AND r.last_dispatched_at IS NULL AND r.run_after <= now()
                   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.stage_run_id = r.id)
                 ORDER BY r.run_after LIMIT $1"
            ),
            &[&limit],
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

async fn holds(tx: &impl GenericClient, lease: &Lease) -> Result<bool, DbError> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM stage_runs WHERE id = $1 AND attempt = $2 AND lease_owner = $3
             AND status = 'running' FOR UPDATE",
            &[&lease.run_id.0, &lease.token, &lease.owner],
        )
        .await?
        .is_some())
}

/// The SQL condition on `tasks` (after `job_id = $1`) picking the tasks a
/// stage serves: all of the job's for the job-level stage, else the one of
/// language `$2`. `$2` is referenced either way so the parameters line up.
fn task_filter(stage: Stage) -> &'static str {
    if stage.is_job_level() {
        "AND $2::text IS NOT NULL"
    } else {
        "AND language = $2"
    }
}

/// What a task's message says while a stage runs.
fn doing(stage: Stage) -> String {
    match stage {
        Stage::Transcribe => "transcribing",
        Stage::Translate => "translating",
        Stage::Synthesize => "synthesizing speech",
        Stage::Render => "rendering",
        Stage::Publish => "publishing",
    }
    .to_owned()
}

/// A stage run as the job view shows it.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub language: String,
    pub stage: Stage,
    pub status: String,
    pub attempts: i32,
    pub failures: i32,
    pub engine: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub started_at: Option<chrono::DateTime<Utc>>,
    pub finished_at: Option<chrono::DateTime<Utc>>,
}

/// Every stage run of a job, in creation order.
pub async fn for_job(db: &Db, job: JobId) -> Result<Vec<RunSummary>, DbError> {
    let rows = db
        .client()
        .await?
        .query(
            "SELECT language, stage, status, attempt, failures, engine, error_code, error_message,
                    started_at, finished_at
             FROM stage_runs WHERE job_id = $1 ORDER BY created_at, language",
            &[&job.0],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(RunSummary {
                language: r.get(0),
                stage: Stage::parse(r.get(1))?,
                status: r.get(2),
                attempts: r.get(3),
                failures: r.get(4),
                engine: r.get(5),
                error_code: r.get(6),
                error_message: r.get(7),
                started_at: r.get(8),
                finished_at: r.get(9),
            })
        })
        .collect()
}
