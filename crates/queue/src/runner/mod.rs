//! The stage runner: the one path every stage of every worker goes through.

mod context;
mod error;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use voxline_config::{PriceTable, RunnerSettings, Settings};
use voxline_core::{Stage, StageRunId};
use voxline_db::runs::{self, Claimed, Completion, FailOutcome, Failure, Usage};
use voxline_db::{Db, DbError};
use voxline_providers::CallLog;
use voxline_storage::Storage;
use voxline_telemetry::{metrics, trace_context};

pub use context::StageContext;
pub use error::StageError;

use crate::backoff;
use crate::dispatch::{Dispatcher, QueueError};

/// The work of one stage. Implementations must be idempotent per run: they
/// may run again after a crash, and write only to deterministic keys.
#[async_trait::async_trait]
pub trait StageHandler: Send + Sync + 'static {
    fn stage(&self) -> Stage;
    async fn run(&self, ctx: &StageContext) -> Result<Completion, StageError>;
}

/// What became of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Runs deliveries of one stage. Cheap to share between apalis workers.
pub struct Runner {
    db: Db,
    storage: Storage,
    dispatcher: Dispatcher,
    settings: RunnerSettings,
    artifact_ttl_hours: f64,
    prices: PriceTable,
    handler: Arc<dyn StageHandler>,
    shutdown: CancellationToken,
    /// Deliveries being processed now (the pool's watchdog reads it).
    busy: Arc<AtomicUsize>,
}

/// Counts a delivery as in progress for as long as it lives, even if its
/// future is dropped midway.
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

impl Runner {
    pub fn new(
        db: Db,
        storage: Storage,
        dispatcher: Dispatcher,
        settings: &Settings,
        handler: Arc<dyn StageHandler>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            db,
            storage,
            dispatcher,
            settings: settings.runner.clone(),
            artifact_ttl_hours: settings.storage.artifact_ttl_hours as f64,
            prices: settings.prices.clone(),
            handler,
            shutdown,
            busy: Arc::default(),
        }
    }

    pub fn stage(&self) -> Stage {
        self.handler.stage()
    }

    pub fn settings(&self) -> &RunnerSettings {
        &self.settings
    }

    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// Whether a delivery is being processed right now.
    pub fn is_busy(&self) -> bool {
        self.busy.load(Ordering::SeqCst) > 0
    }

    /// Processes one delivery of `run` as worker `owner`, untraced.
    pub async fn process(&self, run: StageRunId, owner: &str) -> Result<Outcome, DbError> {
        self.process_traced(run, "", owner).await
    }

    /// Processes one delivery of `run` as worker `owner`. Errors are only
    /// infrastructure faults (PostgreSQL unreachable): the delivery should be
    /// retried; every stage outcome is recorded in PostgreSQL and returned.
    ///
    /// The attempt's span is a child of `traceparent` (the job's creating
    /// request, carried by the queue message) and links to the run's
    /// previous attempt.
    pub async fn process_traced(
        &self,
        run: StageRunId,
        traceparent: &str,
        owner: &str,
    ) -> Result<Outcome, DbError> {
        let _busy = Busy::start(&self.busy);
        let lease_for = Duration::from_secs(self.settings.lease_seconds);
        let span = tracing::info_span!("stage", stage = %self.stage(), run_id = %run,
            job_id = tracing::field::Empty, language = tracing::field::Empty,
            attempt = tracing::field::Empty, outcome = tracing::field::Empty,
            trace_id = tracing::field::Empty);
        trace_context::set_parent(&span, traceparent);
        span.record("trace_id", trace_context::trace_id(&span));
        let this_attempt = trace_context::traceparent_of(&span);
        let claim = runs::claim(&self.db, run, owner, lease_for, &this_attempt);
        let Some(claimed) = claim.instrument(span.clone()).await? else {
            span.record("outcome", Outcome::Skipped.as_str());
            let _in = span.enter();
            tracing::debug!("delivery skipped: not due, taken or finished");
            return Ok(Outcome::Skipped);
        };
        trace_context::add_link(&span, &claimed.earlier_attempt);
        span.record("job_id", tracing::field::display(claimed.job.id));
        span.record("language", claimed.language.as_str());
        span.record("attempt", claimed.lease.token);
        self.execute(claimed).instrument(span).await
    }

    async fn execute(&self, claimed: Claimed) -> Result<Outcome, DbError> {
        let started = std::time::Instant::now();
        let lost = CancellationToken::new();
        // Aborted when this future ends or is dropped, so a killed stage
        // stops renewing its lease and the run can be taken over.
        let heartbeat = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(
            keep_lease(
                self.db.clone(),
                claimed.lease.clone(),
                Duration::from_secs(self.settings.lease_seconds),
                lost.clone(),
            )
            .in_current_span(),
        ));
        let calls = CallLog::default();
        let result = self.run_guarded(&claimed, &lost, &calls).await;
        drop(heartbeat);
        // Priced once per attempt, whatever becomes of it.
        let usage = self.usage(&calls);
        for u in &usage {
            metrics::engine_cost(&u.engine, u.cost_usd);
        }
        let outcome = match result {
            Guarded::Done(Ok(mut done)) => {
                done.usage = usage.clone();
                match runs::commit(&self.db, &claimed, done, self.artifact_ttl_hours).await {
                    Ok(dispatch) => {
                        self.send(&dispatch).await;
                        Outcome::Committed
                    }
                    Err(DbError::Conflict(_)) => Outcome::LeaseLost,
                    Err(e) => return Err(e),
                }
            }
            Guarded::Done(Err(error)) => {
                self.record_failure(&claimed, error, usage.clone()).await?
            }
            Guarded::LeaseLost => Outcome::LeaseLost,
            Guarded::ShuttingDown => {
                match runs::release(&self.db, &claimed.lease, claimed.stage).await? {
                    Some(d) => {
                        self.send(&[d]).await;
                        Outcome::Released
                    }
                    None => Outcome::LeaseLost,
                }
            }
        };
        if matches!(outcome, Outcome::LeaseLost | Outcome::Released)
            && let Err(e) = runs::record_unfinished_usage(&self.db, &claimed, &usage).await
        {
            tracing::warn!(error = %e, "usage of an unfinished attempt not recorded");
        }
        let word = outcome.as_str();
        tracing::Span::current().record("outcome", word);
        metrics::stage_attempt(claimed.stage.as_str(), word, started.elapsed());
        tracing::info!(
            outcome = word,
            seconds = started.elapsed().as_secs_f64(),
            "stage finished"
        );
        Ok(outcome)
    }

    /// Runs the handler until it finishes, the lease is lost, the stage times
    /// out, or a shutdown's grace period ends. Dropping the handler's future
    /// kills its child processes (they are spawned with kill-on-drop).
    async fn run_guarded(
        &self,
        claimed: &Claimed,
        lost: &CancellationToken,
        calls: &CallLog,
    ) -> Guarded {
        let ctx = match StageContext::new(
            claimed.clone(),
            self.db.clone(),
            self.storage.clone(),
            calls.clone(),
        ) {
            Ok(ctx) => ctx,
            Err(e) => return Guarded::Done(Err(e)),
        };
        let grace = Duration::from_secs(self.settings.shutdown_grace_seconds);
        let shutdown_deadline = async {
            self.shutdown.cancelled().await;
            tokio::time::sleep(grace).await;
        };
        let timeout = Duration::from_secs(self.settings.stage_timeout_seconds);
        tokio::select! {
            result = tokio::time::timeout(timeout, self.handler.run(&ctx)) => Guarded::Done(result.unwrap_or_else(|_| {
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
                    self.prices.cost_usd(&t.engine, t.unit, t.units)
                } else {
                    0.0
                };
                (t, cost_usd)
            })
            .map(|(t, cost_usd)| Usage {
                cost_usd,
                engine: t.engine,
                unit: t.unit.to_owned(),
                units: t.units,
                latency_ms: t.latency_ms,
                calls: t.calls,
                ok: t.ok,
                error: t.error,
            })
            .collect()
    }

    async fn record_failure(
        &self,
        claimed: &Claimed,
        error: StageError,
        usage: Vec<Usage>,
    ) -> Result<Outcome, DbError> {
        tracing::warn!(code = %error.code, error = %error.message, transient = error.transient, "stage failed");
        let failure = Failure {
            code: error.code,
            message: error.message,
            transient: error.transient,
        };
        let delay = backoff::delay(
            (claimed.failures + 1) as u32,
            self.settings.backoff_base_seconds,
            self.settings.backoff_max_seconds,
        );
        let stage = claimed.stage.as_str();
        match runs::fail(&self.db, claimed, &failure, delay, &usage).await {
            Ok(FailOutcome::Retrying(d)) => {
                metrics::stage_retry(stage, &failure.code);
                self.send(&[d]).await;
                Ok(Outcome::Retrying)
            }
            Ok(FailOutcome::Failed) => {
                metrics::stage_failure(stage, &failure.code);
                Ok(Outcome::Failed)
            }
            Err(DbError::Conflict(_)) => Ok(Outcome::LeaseLost),
            Err(e) => Err(e),
        }
    }

    /// Dispatch after commit. A failure leaves the outbox rows for the
    /// reconciler, so it is logged, not raised.
    async fn send(&self, dispatch: &[voxline_db::outbox::Dispatch]) {
        if let Err(e) = self.dispatcher.send(dispatch).await {
            let e: QueueError = e;
            tracing::warn!(error = %e, "dispatch deferred to the reconciler");
        }
    }
}

enum Guarded {
    Done(Result<Completion, StageError>),
    LeaseLost,
    ShuttingDown,
}

/// Renews the lease often enough that a cancellation is noticed within about
/// a second, and signals `lost` when the lease is gone.
async fn keep_lease(db: Db, lease: runs::Lease, duration: Duration, lost: CancellationToken) {
    let every = (duration / 3).min(Duration::from_secs(1));
    loop {
        tokio::time::sleep(every).await;
        match runs::heartbeat(&db, &lease, duration).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(run_id = %lease.run_id, "lease lost; stopping the stage");
                lost.cancel();
                return;
            }
            // The database may come back before the lease runs out; keep trying.
            Err(e) => tracing::warn!(error = %e, "lease not renewed"),
        }
    }
}
