//! The stage runner: the one path every stage of every worker goes through.
//!
//! A delivery is claimed (claims of concurrent deliveries go to PostgreSQL
//! together, one statement per batch), its stage runs under the process's
//! lease, and its outcome, as the state machine plans it, is recorded with
//! the outcomes of other runs finishing at the same time, again in one
//! statement. Only then does the runner answer, and the delivery is
//! settled on the queue with what the outcome scheduled.

mod context;
mod error;
mod lease;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use voxline_batch::Batcher;
use voxline_config::{PriceTable, RunnerSettings, Settings};
use voxline_core::state::{Verdict, on_failure, on_success};
use voxline_core::{Dispatch, Stage, StageRunId};
use voxline_db::runs::{self, Applied, Claimed, Completion, Failure, Outcomes, Usage};
use voxline_db::{Db, DbError};
use voxline_providers::CallLog;
use voxline_queue::{Consumer, Delivered, StageJob};
use voxline_storage::Storage;
use voxline_telemetry::{metrics, trace_context};

pub use context::StageContext;
pub use error::StageError;

use crate::backoff;
use lease::Leases;

/// The work of one stage. Implementations must be idempotent per run: they
/// may run again after a crash, and write only to deterministic keys.
#[async_trait::async_trait]
pub trait StageHandler: Send + Sync + 'static {
    fn stage(&self) -> Stage;
    async fn run(&self, ctx: &StageContext) -> Result<Completion, StageError>;
}

/// What became of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The stage ran and its result was committed.
    Committed,
    /// The delivery was a duplicate, early, or for a finished or cancelled run.
    Skipped,
    /// The stage failed and was scheduled again.
    Retrying,
    /// The stage failed for good; the error is on the task.
    Failed,
    /// The lease was lost mid-run (cancelled, or taken over); nothing was committed.
    LeaseLost,
    /// The worker is shutting down; the run was handed back.
    Released,
}

impl Outcome {
    /// The outcome as a word, for logs and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Committed => "committed",
            Outcome::Skipped => "skipped",
            Outcome::Retrying => "retrying",
            Outcome::Failed => "failed",
            Outcome::LeaseLost => "lease_lost",
            Outcome::Released => "released",
        }
    }
}

/// A delivery's outcome with what it put on the queues.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub outcome: Outcome,
    pub dispatch: Vec<Dispatch>,
}

impl Delivery {
    fn only(outcome: Outcome) -> Self {
        Self {
            outcome,
            dispatch: vec![],
        }
    }
}

impl Delivered for Delivery {
    fn dispatch(&self) -> &[Dispatch] {
        &self.dispatch
    }
}

/// An outcome waiting to be recorded with others.
#[derive(Clone)]
enum Pending {
    Success(Box<Claimed>, Box<Completion>),
    Failure(Box<Claimed>, Failure, Duration, Vec<Usage>),
    Release(Box<Claimed>, Vec<Usage>),
}

type Claims = Batcher<(StageRunId, String), Result<Option<Claimed>, Arc<DbError>>>;
type Records = Batcher<Pending, Result<Applied, Arc<DbError>>>;

/// Runs deliveries of one stage in one process. Cheap to clone.
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    storage: Storage,
    consumer: Consumer,
    settings: RunnerSettings,
    handler: Arc<dyn StageHandler>,
    shutdown: CancellationToken,
    leases: Arc<Leases>,
    claims: Claims,
    records: Records,
    prices: PriceTable,
    /// Deliveries being processed now.
    busy: Arc<AtomicUsize>,
    _keeper: tokio_util::task::AbortOnDropHandle<()>,
}

/// Counts a delivery as in progress for as long as it lives.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn start(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// At most this many runs go in one claim or one outcome statement.
const BATCH: usize = 256;

impl Runner {
    /// A runner of `handler`'s stage as worker `consumer` (whose name is
    /// the worker's: its queue consumer and its lease holder), until
    /// `shutdown`. Must be made inside the Tokio runtime.
    pub fn new(
        db: Db,
        storage: Storage,
        consumer: Consumer,
        settings: &Settings,
        handler: Arc<dyn StageHandler>,
        shutdown: CancellationToken,
    ) -> Self {
        let lease = Duration::from_secs(settings.runner.lease_seconds);
        let leases = Leases::new(db.clone(), consumer.id(), handler.stage(), lease);
        let keeper = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(
            leases.clone().keep(shutdown.clone()),
        ));
        let claims = {
            let (db, leases, owner) = (db.clone(), leases.clone(), consumer.id().to_owned());
            Batcher::spawn(BATCH, 1, move |batch: Vec<(StageRunId, String)>| {
                let (db, leases, owner) = (db.clone(), leases.clone(), owner.clone());
                async move {
                    leases.registered().await;
                    let n = batch.len();
                    match runs::claim(&db, &owner, &batch).await {
                        Ok(claimed) => claimed.into_iter().map(Ok).collect(),
                        Err(e) => {
                            let e = Arc::new(e);
                            (0..n).map(|_| Err(e.clone())).collect()
                        }
                    }
                }
            })
        };
        let records = {
            let db = db.clone();
            let ttl = settings.storage.artifact_ttl_hours as f64;
            Batcher::spawn(BATCH, 1, move |batch: Vec<Pending>| {
                let db = db.clone();
                async move { record(&db, ttl, batch).await }
            })
        };
        Self {
            inner: Arc::new(Inner {
                db,
                storage,
                consumer,
                settings: settings.runner.clone(),
                handler,
                shutdown,
                leases,
                claims,
                records,
                prices: settings.prices.clone(),
                busy: Arc::default(),
                _keeper: keeper,
            }),
        }
    }

    pub fn stage(&self) -> Stage {
        self.inner.handler.stage()
    }

    pub fn settings(&self) -> &RunnerSettings {
        &self.inner.settings
    }

    /// The worker's name: its queue consumer and its lease holder.
    pub fn worker(&self) -> &str {
        self.inner.consumer.id()
    }

    pub fn consumer(&self) -> &Consumer {
        &self.inner.consumer
    }

    /// Whether a delivery is being processed right now.
    pub fn is_busy(&self) -> bool {
        self.inner.busy.load(Ordering::SeqCst) > 0
    }

    /// Processes `run` as if delivered now (not through the queue), and
    /// puts what it schedules on the queues. Errors are only infrastructure
    /// faults (PostgreSQL unreachable).
    pub async fn process(&self, run: StageRunId) -> Result<Outcome, DbError> {
        let delivery = self.deliver(run, "", None).await?;
        self.inner.consumer.dispatch(delivery.dispatch).await;
        Ok(delivery.outcome)
    }

    /// Processes one delivery from the queue; the caller settles it with
    /// what it scheduled.
    pub async fn process_job(&self, job: &StageJob) -> Result<Delivery, DbError> {
        match voxline_queue::run_of(job) {
            Some(run) => {
                let ready = chrono::DateTime::from_timestamp_millis(job.ready_at_ms)
                    .filter(|_| job.ready_at_ms > 0);
                self.deliver(run, &job.traceparent, ready).await
            }
            // Retrying a malformed message cannot help; PostgreSQL still holds the run.
            None => {
                tracing::warn!(run_id = %job.run_id, "malformed stage message dropped");
                Ok(Delivery::only(Outcome::Skipped))
            }
        }
    }

    /// Claims, runs and records one delivery of `run`. The attempt's span is
    /// a child of `traceparent` (the job's creating request, carried by the
    /// queue message) and links to the run's previous attempt.
    async fn deliver(
        &self,
        run: StageRunId,
        traceparent: &str,
        ready_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Delivery, DbError> {
        let _busy = Busy::start(&self.inner.busy);
        let span = tracing::info_span!("stage", stage = %self.stage(), run_id = %run,
            job_id = tracing::field::Empty, language = tracing::field::Empty,
            attempt = tracing::field::Empty, outcome = tracing::field::Empty,
            trace_id = tracing::field::Empty);
        trace_context::set_parent(&span, traceparent);
        span.record("trace_id", trace_context::trace_id(&span));
        let this_attempt = trace_context::traceparent_of(&span);
        let claim = self.inner.claims.submit((run, this_attempt));
        let claimed = claim
            .instrument(span.clone())
            .await
            .ok_or_else(|| DbError::Corrupt("the claim batch was dropped".into()))?
            .map_err(unshare)?;
        let Some(claimed) = claimed else {
            span.record("outcome", Outcome::Skipped.as_str());
            let _in = span.enter();
            tracing::debug!("delivery skipped: not due, taken or finished");
            return Ok(Delivery::only(Outcome::Skipped));
        };
        if let Some(ready) = ready_at {
            let waited = (chrono::Utc::now() - ready).to_std().unwrap_or_default();
            metrics::stage_wait(claimed.stage.as_str(), waited);
        }
        trace_context::add_link(&span, &claimed.earlier_attempt);
        span.record("job_id", tracing::field::display(claimed.job.id));
        span.record("language", claimed.language.as_str());
        span.record("attempt", claimed.lease.token);
        self.execute(claimed, ready_at).instrument(span).await
    }

    async fn execute(
        &self,
        claimed: Claimed,
        ready_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Delivery, DbError> {
        let started = std::time::Instant::now();
        let holding = self.inner.leases.hold(&claimed.lease);
        let calls = CallLog::default();
        let result = self
            .run_guarded(&claimed, &holding.lost, &calls, ready_at)
            .await;
        // Priced once per attempt, whatever becomes of it.
        let usage = self.usage(&calls);
        for u in &usage {
            metrics::engine_cost(&u.engine, u.cost_usd);
        }
        let claimed = Box::new(claimed);
        let mut code = None;
        let (pending, kind) = match result {
            Guarded::Done(Ok(mut done)) => {
                done.usage = usage.clone();
                (
                    Some(Pending::Success(claimed.clone(), Box::new(done))),
                    Outcome::Committed,
                )
            }
            Guarded::Done(Err(error)) => {
                tracing::warn!(code = %error.code, error = %error.message, transient = error.transient, "stage failed");
                let delay = backoff::delay(
                    (claimed.failures + 1) as u32,
                    self.inner.settings.backoff_base_seconds,
                    self.inner.settings.backoff_max_seconds,
                );
                code = Some(error.code.clone());
                let failure = Failure {
                    code: error.code,
                    message: error.message,
                    transient: error.transient,
                };
                (
                    Some(Pending::Failure(
                        claimed.clone(),
                        failure,
                        delay,
                        usage.clone(),
                    )),
                    Outcome::Failed,
                )
            }
            Guarded::LeaseLost => (None, Outcome::LeaseLost),
            Guarded::ShuttingDown => (
                Some(Pending::Release(claimed.clone(), usage.clone())),
                Outcome::Released,
            ),
        };
        let delivery = match pending {
            Some(pending) => self.record_until_done(pending, kind, &holding.lost).await?,
            None => Delivery::only(kind),
        };
        drop(holding);
        // A released run's usage went with its release; a lost lease's
        // attempt still made its calls.
        if delivery.outcome == Outcome::LeaseLost
            && let Err(e) = runs::record_unfinished_usage(&self.inner.db, &claimed, &usage).await
        {
            tracing::warn!(error = %e, "usage of an unfinished attempt not recorded");
        }
        let word = delivery.outcome.as_str();
        tracing::Span::current().record("outcome", word);
        metrics::stage_attempt(claimed.stage.as_str(), word, started.elapsed());
        let code = code.as_deref().unwrap_or_default();
        match delivery.outcome {
            Outcome::Retrying => metrics::stage_retry(claimed.stage.as_str(), code),
            Outcome::Failed => metrics::stage_failure(claimed.stage.as_str(), code),
            _ => {}
        }
        tracing::info!(
            outcome = word,
            seconds = started.elapsed().as_secs_f64(),
            "stage finished"
        );
        Ok(delivery)
    }

    /// Records an outcome, trying again while PostgreSQL is away (the stage
    /// is done; only its record is missing) until the lease is lost.
    async fn record_until_done(
        &self,
        pending: Pending,
        kind: Outcome,
        lost: &CancellationToken,
    ) -> Result<Delivery, DbError> {
        let mut wait = Duration::from_millis(100);
        loop {
            let applied = self
                .inner
                .records
                .submit(pending.clone())
                .await
                .ok_or_else(|| DbError::Corrupt("the outcome batch was dropped".into()))?;
            match applied {
                Ok(applied) if applied.held => {
                    let outcome = match (&pending, kind) {
                        (Pending::Failure(..), _) if !applied.dispatch.is_empty() => {
                            Outcome::Retrying
                        }
                        (_, kind) => kind,
                    };
                    return Ok(Delivery {
                        outcome,
                        dispatch: applied.dispatch,
                    });
                }
                Ok(_) => return Ok(Delivery::only(Outcome::LeaseLost)),
                Err(e) if e.is_transient() && !lost.is_cancelled() => {
                    tracing::warn!(error = %e, "outcome not recorded yet; trying again");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
                // The lease went while PostgreSQL was away: whatever this
                // attempt would record, its fence now refuses; the run is
                // another's or the janitor's to queue again.
                Err(e) if e.is_transient() => {
                    tracing::warn!(error = %e, "outcome not recorded and the lease is lost; the run will be taken over");
                    return Ok(Delivery::only(Outcome::LeaseLost));
                }
                // A success the database refuses (a bug) must not leave the
                // run held for ever: it fails, with the error for people.
                Err(e) if matches!(pending, Pending::Success(..)) => {
                    tracing::error!(error = %e, "the stage's result could not be recorded; failing it");
                    if let Pending::Success(claimed, _) = pending {
                        let failure = Failure {
                            code: "internal".into(),
                            message:
                                "the stage's result could not be recorded; the error was logged"
                                    .into(),
                            transient: false,
                        };
                        let retry = Pending::Failure(claimed, failure, Duration::ZERO, vec![]);
                        return Box::pin(self.record_until_done(retry, Outcome::Failed, lost))
                            .await;
                    }
                    return Err(unshare(e));
                }
                Err(e) => {
                    tracing::error!(error = %e, "the stage's outcome could not be recorded");
                    return Err(unshare(e));
                }
            }
        }
    }

    /// Runs the handler until it finishes, the lease is lost, the stage times
    /// out, or a shutdown's grace period ends. Dropping the handler's future
    /// kills its child processes (they are spawned with kill-on-drop).
    async fn run_guarded(
        &self,
        claimed: &Claimed,
        lost: &CancellationToken,
        calls: &CallLog,
        ready_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Guarded {
        let ctx = StageContext::new(
            claimed.clone(),
            self.inner.db.clone(),
            self.inner.storage.clone(),
            calls.clone(),
            ready_at,
        );
        let grace = Duration::from_secs(self.inner.settings.shutdown_grace_seconds);
        let shutdown_deadline = async {
            self.inner.shutdown.cancelled().await;
            tokio::time::sleep(grace).await;
        };
        let timeout = Duration::from_secs(self.inner.settings.stage_timeout_seconds);
        tokio::select! {
            result = tokio::time::timeout(timeout, self.inner.handler.run(&ctx)) => Guarded::Done(result.unwrap_or_else(|_| {
                Err(StageError::transient("stage_timeout", format!("the stage took longer than {} s", timeout.as_secs())))
            })),
            _ = lost.cancelled() => Guarded::LeaseLost,
            _ = shutdown_deadline => Guarded::ShuttingDown,
        }
    }

    /// The run's engine calls as usage rows, priced from the price table;
    /// failed calls are recorded at no cost, as vendors bill only answers.
    fn usage(&self, calls: &CallLog) -> Vec<Usage> {
        calls
            .totals()
            .into_iter()
            .map(|t| {
                let cost_usd = if t.ok {
                    self.inner.prices.cost_usd(&t.engine, t.unit, t.units)
                } else {
                    0.0
                };
                Usage {
                    cost_usd,
                    engine: t.engine,
                    unit: t.unit.to_owned(),
                    units: t.units,
                    latency_ms: t.latency_ms,
                    calls: t.calls,
                    ok: t.ok,
                    error: t.error,
                }
            })
            .collect()
    }
}

fn unshare(e: Arc<DbError>) -> DbError {
    Arc::try_unwrap(e).unwrap_or_else(DbError::Shared)
}

/// Records a batch of outcomes in one statement, each planned by the state
/// machine from what its claim saw.
async fn record(
    db: &Db,
    ttl_hours: f64,
    batch: Vec<Pending>,
) -> Vec<Result<Applied, Arc<DbError>>> {
    let mut outcomes = Outcomes::new(ttl_hours);
    let now = chrono::Utc::now();
    for p in &batch {
        match p {
            Pending::Success(claimed, done) => {
                let verdict = Verdict {
                    engine: done.engine.as_deref(),
                    output: Some(&done.output),
                    note: done.note.as_deref(),
                };
                let plan = on_success(&claimed.snapshot(), verdict, now);
                outcomes.succeeded(claimed, done, &plan);
            }
            Pending::Failure(claimed, failure, delay, usage) => {
                let plan = on_failure(
                    &claimed.snapshot(),
                    &failure.code,
                    &failure.message,
                    failure.transient,
                    claimed.failures + 1,
                    claimed.max_attempts,
                );
                outcomes.failed(claimed, failure, &plan, *delay, usage, false);
            }
            Pending::Release(claimed, usage) => {
                outcomes.released(claimed, usage);
            }
        }
    }
    match voxline_db::apply(db, outcomes).await {
        Ok(applied) => applied.into_iter().map(Ok).collect(),
        Err(e) => {
            let e = Arc::new(e);
            batch.iter().map(|_| Err(e.clone())).collect()
        }
    }
}

enum Guarded {
    Done(Result<Completion, StageError>),
    LeaseLost,
    ShuttingDown,
}
