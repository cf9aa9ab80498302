//! A stage's consumer: apalis's [`Backend`] over the queue of `client.rs`.
//!
//! One fetcher per consumer takes as many runs as the worker has free
//! places (never more, so nothing waits in a buffer while another process
//! could run it), blocking on the queue's bell when there are none: a run
//! made ready is picked up within a round trip. Redis going away pauses the
//! fetcher, which retries with backoff; nothing fails, and stages already
//! running finish and record their outcome in PostgreSQL. The backend's
//! layer settles each delivery after the worker's service returns: an
//! outcome is acknowledged, together with what it scheduled, only once it
//! is durable in PostgreSQL (the service returns only then).

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use apalis::prelude::{Backend, BoxDynError, Task, TaskBuilder, WorkerContext};
use apalis_core::backend::BackendConfig;
use apalis_core::backend::finalize::Ephemeral;
use apalis_core::task::task_id::RandomId;
use futures::FutureExt;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use voxline_core::{Dispatch, Stage, StageRunId};

use crate::QueueError;
use crate::client::Queue;
use crate::message::{StageJob, run_of};
use voxline_batch::Batcher;

/// What a worker's service answers for a delivery: what to put on the
/// queues along with the delivery's acknowledgement.
pub trait Delivered {
    fn dispatch(&self) -> &[Dispatch];
}

/// One settlement: a delivery acknowledged (or given back) and what it scheduled.
#[derive(Debug, Clone)]
struct Settlement {
    run: Option<StageRunId>,
    give_back: bool,
    push: Vec<Dispatch>,
}

/// The consumer of one stage's queue in one process.
#[derive(Clone)]
pub struct Consumer {
    inner: Arc<Inner>,
}

struct Inner {
    queue: Queue,
    stage: Stage,
    id: String,
    places: usize,
    /// Deliveries taken and not settled yet.
    taken: AtomicUsize,
    freed: Notify,
    /// Settlements Redis refused while away, sent again before the next fetch.
    unsettled: Mutex<Vec<Settlement>>,
    settler: Batcher<Settlement, ()>,
    stop: CancellationToken,
}

impl Consumer {
    /// A consumer named `id` of `stage`'s queue, running at most `places`
    /// deliveries at once.
    pub fn new(queue: Queue, stage: Stage, id: &str, places: usize) -> Self {
        let inner = Arc::new_cyclic(|me: &std::sync::Weak<Inner>| {
            let me = me.clone();
            let settler = Batcher::spawn(512, 1, move |batch: Vec<Settlement>| {
                let me = me.clone();
                async move {
                    let n = batch.len();
                    if let Some(inner) = me.upgrade() {
                        inner.settle(batch).await;
                    }
                    vec![(); n]
                }
            });
            Inner {
                queue,
                stage,
                id: id.to_owned(),
                places: places.max(1),
                taken: AtomicUsize::new(0),
                freed: Notify::new(),
                unsettled: Mutex::new(Vec::new()),
                settler,
                stop: CancellationToken::new(),
            }
        });
        Self { inner }
    }

    pub fn id(&self) -> &str {
        &self.inner.id
    }

    pub fn stage(&self) -> Stage {
        self.inner.stage
    }

    /// Puts what a run scheduled on the queues, outside any delivery (a
    /// stage run directly rather than through the queue).
    pub async fn dispatch(&self, push: Vec<Dispatch>) {
        if push.is_empty() {
            return;
        }
        self.inner
            .settler
            .submit(Settlement {
                run: None,
                give_back: false,
                push,
            })
            .await;
    }

    /// The apalis backend of this consumer, for one worker.
    pub fn backend(&self) -> StageQueue {
        StageQueue {
            consumer: self.clone(),
            rx: None,
            fetcher: None,
            closing: None,
        }
    }

    /// Stops fetching (a shutdown); deliveries taken are still settled.
    pub fn stop(&self) {
        self.inner.stop.cancel();
    }
}

impl Inner {
    fn free(&self) -> usize {
        self.places
            .saturating_sub(self.taken.load(Ordering::SeqCst))
    }

    fn settled(&self, n: usize) {
        self.taken.fetch_sub(n, Ordering::SeqCst);
        self.freed.notify_one();
    }

    /// Sends a batch of settlements in one round trip; keeps them for a
    /// later try when Redis is away (the deliveries stay held meanwhile).
    async fn settle(&self, batch: Vec<Settlement>) {
        let (acks, nacks, push) = split(&batch);
        let result = async {
            self.queue
                .settle(&self.id, self.stage, &acks, &push)
                .await?;
            self.queue
                .nack(&self.id, self.stage, &nacks, Duration::from_secs(1))
                .await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, stage = %self.stage, "settling deliveries deferred until Redis answers");
            self.unsettled.lock().expect("unsettled").extend(batch);
        }
    }

    /// Settlements kept while Redis was away, sent now; an error while it
    /// still is.
    async fn flush(&self) -> Result<(), QueueError> {
        let batch = std::mem::take(&mut *self.unsettled.lock().expect("unsettled"));
        if batch.is_empty() {
            return Ok(());
        }
        let (acks, nacks, push) = split(&batch);
        let sent = async {
            self.queue
                .settle(&self.id, self.stage, &acks, &push)
                .await?;
            self.queue
                .nack(&self.id, self.stage, &nacks, Duration::from_secs(1))
                .await
        }
        .await;
        if sent.is_err() {
            // Kept for the next try, in order.
            self.unsettled.lock().expect("unsettled").extend(batch);
        }
        sent
    }

    /// Takes work for the free places, until stopped: the fetcher's loop.
    async fn fetch(self: Arc<Self>, tx: mpsc::UnboundedSender<StageJob>) {
        let mut backoff = Backoff::default();
        let mut conn = loop {
            match self.queue.blocking_connection().await {
                Ok(c) => break c,
                Err(e) => {
                    backoff.failed(&e, self.stage);
                    if self.stopped_within(backoff.delay()).await {
                        return;
                    }
                }
            }
        };
        let wait = Duration::from_secs(self.queue.settings().fetch_wait_seconds.max(1));
        let beat = Duration::from_secs((self.queue.settings().consumer_timeout_seconds / 3).max(1));
        while !self.stop.is_cancelled() {
            if let Err(e) = self.flush().await {
                backoff.failed(&e, self.stage);
                if self.stopped_within(backoff.delay()).await {
                    return;
                }
                continue;
            }
            let free = self.free();
            if free == 0 {
                // Busy: sign of life now and then, and wait for a free place.
                tokio::select! {
                    _ = self.freed.notified() => {}
                    _ = tokio::time::sleep(beat) => {
                        if let Err(e) = self.queue.beat(&self.id, self.stage).await {
                            backoff.failed(&e, self.stage);
                        }
                    }
                    _ = self.stop.cancelled() => return,
                }
                continue;
            }
            match self
                .queue
                .fetch(&mut conn, &self.id, self.stage, free)
                .await
            {
                Ok((fetched, next_due)) => {
                    backoff.recovered(self.stage);
                    if fetched.is_empty() {
                        let until = next_due.map_or(wait, |d| d.min(wait));
                        tokio::select! {
                            r = self.queue.wait_for_work(&mut conn, self.stage, until) => {
                                if let Err(e) = r {
                                    backoff.failed(&e, self.stage);
                                }
                            }
                            _ = self.stop.cancelled() => return,
                        }
                        continue;
                    }
                    for f in fetched {
                        match f.job {
                            Ok(job) => {
                                self.taken.fetch_add(1, Ordering::SeqCst);
                                if tx.send(job).is_err() {
                                    return;
                                }
                            }
                            Err(e) => {
                                // Not ours to run: off the queue, or it returns forever.
                                tracing::warn!(error = %e, id = %f.id, "malformed message dropped");
                                let run = StageRunId::parse(&f.id).ok();
                                if let Some(run) = run {
                                    let _ =
                                        self.queue.settle(&self.id, self.stage, &[run], &[]).await;
                                }
                            }
                        }
                    }
                }
                Err(e) => {
                    backoff.failed(&e, self.stage);
                    if self.stopped_within(backoff.delay()).await {
                        return;
                    }
                }
            }
        }
    }

    /// Sleeps `d` unless stopped first; true when stopped.
    async fn stopped_within(&self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => false,
            _ = self.stop.cancelled() => true,
        }
    }
}

fn split(batch: &[Settlement]) -> (Vec<StageRunId>, Vec<StageRunId>, Vec<Dispatch>) {
    let acks = batch
        .iter()
        .filter(|s| !s.give_back)
        .filter_map(|s| s.run)
        .collect();
    let nacks = batch
        .iter()
        .filter(|s| s.give_back)
        .filter_map(|s| s.run)
        .collect();
    let push = batch.iter().flat_map(|s| s.push.iter().cloned()).collect();
    (acks, nacks, push)
}

/// Retry pacing while Redis is away: 100 ms doubling to 5 s; logged once
/// when it goes and once when it returns.
#[derive(Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn failed(&mut self, e: &QueueError, stage: Stage) {
        if self.failures == 0 {
            tracing::warn!(error = %e, %stage, "queue unavailable; retrying with backoff, running stages go on");
        }
        self.failures += 1;
    }

    fn recovered(&mut self, stage: Stage) {
        if self.failures > 0 {
            tracing::info!(%stage, "queue available again");
            self.failures = 0;
        }
    }

    fn delay(&self) -> Duration {
        let ms = 100u64.saturating_mul(1 << self.failures.min(6));
        Duration::from_millis(ms.min(5_000))
    }
}

/// apalis's view of a [`Consumer`]: a backend whose tasks are stage jobs.
pub struct StageQueue {
    consumer: Consumer,
    rx: Option<mpsc::UnboundedReceiver<StageJob>>,
    fetcher: Option<tokio_util::task::AbortOnDropHandle<()>>,
    closing: Option<Pin<Box<dyn std::future::Future<Output = ()> + Send>>>,
}

impl Backend for StageQueue {
    type Task = Task<StageJob>;
    type Error = QueueError;

    fn poll_ready(
        &mut self,
        _: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        if self.rx.is_none() {
            let (tx, rx) = mpsc::unbounded_channel();
            let inner = self.consumer.inner.clone();
            self.fetcher = Some(tokio_util::task::AbortOnDropHandle::new(tokio::spawn(
                inner.fetch(tx),
            )));
            self.rx = Some(rx);
        }
        Poll::Ready(Ok(()))
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task, Self::Error>>> {
        let Some(rx) = self.rx.as_mut() else {
            return Poll::Pending;
        };
        match rx.poll_recv(cx) {
            Poll::Ready(Some(job)) => Poll::Ready(Some(Ok(TaskBuilder::new(job).build()))),
            // The fetcher stopped (a shutdown): no more work.
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_close(
        &mut self,
        cx: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        if self.closing.is_none() {
            self.consumer.stop();
            self.fetcher = None;
            // Deliveries taken but never started go back at once.
            let mut unstarted = Vec::new();
            if let Some(rx) = self.rx.as_mut() {
                while let Ok(job) = rx.try_recv() {
                    unstarted.extend(run_of(&job));
                }
            }
            let inner = self.consumer.inner.clone();
            self.closing = Some(Box::pin(async move {
                if let Err(e) = inner.flush().await {
                    // The runs are in PostgreSQL: the janitor sends them again.
                    tracing::warn!(error = %e, stage = %inner.stage, "settlements not sent at stop");
                }
                let n = unstarted.len();
                if n > 0 {
                    let _ = inner
                        .queue
                        .nack(&inner.id, inner.stage, &unstarted, Duration::ZERO)
                        .await;
                    inner.settled(n);
                }
                if inner.unsettled.lock().expect("unsettled").is_empty() {
                    // Anything still held would wait for the consumer timeout.
                    let _ = inner.queue.leave(&inner.id, inner.stage).await;
                }
            }));
        }
        self.closing
            .as_mut()
            .expect("set above")
            .poll_unpin(cx)
            .map(Ok)
    }
}

impl BackendConfig for StageQueue {
    type Args = StageJob;
    type Id = RandomId;
    type Kind = Ephemeral;
    type Config = ();
    type Layer = SettleLayer;

    fn config(&self) -> &Self::Config {
        &()
    }

    fn middleware(&mut self, _: &mut WorkerContext) -> Self::Layer {
        SettleLayer {
            consumer: self.consumer.clone(),
        }
    }
}

/// Settles each delivery once the worker's service returns.
#[derive(Clone)]
pub struct SettleLayer {
    consumer: Consumer,
}

impl<S> tower::Layer<S> for SettleLayer {
    type Service = Settle<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Settle {
            inner,
            consumer: self.consumer.clone(),
        }
    }
}

/// The service [`SettleLayer`] makes.
#[derive(Clone)]
pub struct Settle<S> {
    inner: S,
    consumer: Consumer,
}

impl<S> tower::Service<Task<StageJob>> for Settle<S>
where
    S: tower::Service<Task<StageJob>>,
    S::Future: Send + 'static,
    S::Response: Delivered + Send + 'static,
    S::Error: Into<BoxDynError> + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, task: Task<StageJob>) -> Self::Future {
        let run = run_of(&task.args);
        let consumer = self.consumer.clone();
        let work = self.inner.call(task);
        Box::pin(async move {
            let result = work.await;
            let settlement = match &result {
                Ok(outcome) => Settlement {
                    run,
                    give_back: false,
                    push: outcome.dispatch().to_vec(),
                },
                // The outcome could not be recorded (PostgreSQL away): the
                // delivery comes back in a second.
                Err(_) => Settlement {
                    run,
                    give_back: true,
                    push: vec![],
                },
            };
            consumer.inner.settler.submit(settlement).await;
            consumer.inner.settled(1);
            result
        })
    }
}
