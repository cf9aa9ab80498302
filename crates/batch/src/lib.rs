//! Group commit for whatever costs a round trip (a PostgreSQL statement, a
//! Redis call): requests that arrive while a batch is being carried out
//! wait together and go as the next batch, so a lone request goes at once
//! and a crowd goes in few trips. Nothing is held back to wait for company.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};

/// Gathers requests into batches for a function that serves a whole batch.
pub struct Batcher<Req, Resp> {
    tx: mpsc::UnboundedSender<(Req, oneshot::Sender<Resp>)>,
}

impl<Req, Resp> Clone for Batcher<Req, Resp> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
        }
    }
}

impl<Req: Send + 'static, Resp: Send + 'static> Batcher<Req, Resp> {
    /// Serves batches of at most `max` requests with `serve`, at most
    /// `in_flight` batches at once; `serve` answers one response per
    /// request, in order. The task ends when every handle is dropped.
    pub fn spawn<F, Fut>(max: usize, in_flight: usize, serve: F) -> Self
    where
        F: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<Resp>> + Send + 'static,
    {
        let (tx, mut rx) = mpsc::unbounded_channel::<(Req, oneshot::Sender<Resp>)>();
        let serve = Arc::new(serve);
        let slots = Arc::new(Semaphore::new(in_flight.max(1)));
        tokio::spawn(async move {
            loop {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let Some(first) = rx.recv().await else {
                    return;
                };
                let mut batch = vec![first];
                // Requests made in the same moment (the deliveries of one
                // fetch finishing together) join this batch: let the tasks
                // about to send theirs run once, then take what came.
                for _ in 0..2 {
                    while batch.len() < max.max(1) {
                        match rx.try_recv() {
                            Ok(next) => batch.push(next),
                            Err(_) => break,
                        }
                    }
                    tokio::task::yield_now().await;
                }
                while batch.len() < max.max(1) {
                    match rx.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let serve = serve.clone();
                tokio::spawn(async move {
                    let (requests, replies): (Vec<Req>, Vec<_>) = batch.into_iter().unzip();
                    let responses = serve(requests).await;
                    for (reply, response) in replies.into_iter().zip(responses) {
                        let _ = reply.send(response);
                    }
                    drop(slot);
                });
            }
        });
        Self { tx }
    }

    /// Submits one request and waits for its response; `None` if the
    /// batch serving it was dropped (its task panicked).
    pub async fn submit(&self, request: Req) -> Option<Resp> {
        let (reply, answer) = oneshot::channel();
        self.tx.send((request, reply)).ok()?;
        answer.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_crowd_goes_in_few_batches_and_each_gets_its_answer() {
        let batches = Arc::new(AtomicUsize::new(0));
        let counted = batches.clone();
        let batcher = Batcher::spawn(64, 1, move |xs: Vec<u32>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                xs.into_iter().map(|x| x * 2).collect()
            }
        });
        let answers = futures::future::join_all((0..100).map(|x| {
            let b = batcher.clone();
            async move { b.submit(x).await }
        }))
        .await;
        for (x, a) in answers.iter().enumerate() {
            assert_eq!(*a, Some(x as u32 * 2));
        }
        assert!(batches.load(Ordering::SeqCst) <= 4, "{batches:?} batches");
        // A lone request goes at once.
        let started = std::time::Instant::now();
        assert_eq!(batcher.submit(7).await, Some(14));
        assert!(started.elapsed() < std::time::Duration::from_millis(200));
    }
}
