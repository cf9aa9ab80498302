//! Which jobs have news, for the event streams open on this gateway: one
//! query every half second for all of them (the newest event id of each
//! job watched), instead of every stream polling PostgreSQL on its own. A
//! stream reads its job only when the job has news, so a thousand idle
//! streams cost two queries a second, not four thousand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::watch;
use voxline_core::JobId;
use voxline_db::{Db, events};

/// How often the jobs watched are looked at.
const POLL: Duration = Duration::from_millis(500);

/// The jobs streams watch on this gateway. Cheap to clone.
#[derive(Clone)]
pub struct EventWatch {
    jobs: Arc<Jobs>,
}

type Jobs = Mutex<HashMap<JobId, Watched>>;

struct Watched {
    /// The newest event id seen for the job.
    latest: watch::Sender<i64>,
    /// Streams watching it; the job is dropped from the poll at none.
    streams: usize,
}

/// One stream's watch on its job; dropping it ends the watch.
pub struct Watching {
    job: JobId,
    latest: watch::Receiver<i64>,
    jobs: Arc<Jobs>,
}

impl EventWatch {
    /// Starts the poll (inside the Tokio runtime); it stops when the last
    /// clone of the watch is dropped.
    pub fn start(db: Db) -> Self {
        let jobs = Arc::new(Jobs::default());
        tokio::spawn(poll(db, Arc::downgrade(&jobs)));
        Self { jobs }
    }

    /// Watches `job` for events newer than those a stream has read.
    pub fn watch(&self, job: JobId) -> Watching {
        let mut jobs = self.jobs.lock().expect("the watch's lock");
        let watched = jobs.entry(job).or_insert_with(|| Watched {
            latest: watch::Sender::new(0),
            streams: 0,
        });
        watched.streams += 1;
        Watching {
            job,
            latest: watched.latest.subscribe(),
            jobs: self.jobs.clone(),
        }
    }
}

impl Watching {
    /// Returns once the job has an event newer than `read` (at once if it
    /// already has one).
    pub async fn news_after(&mut self, read: i64) {
        // The sender lives as long as this watch does.
        let _ = self.latest.wait_for(|&latest| latest > read).await;
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let mut jobs = self.jobs.lock().expect("the watch's lock");
        if let Some(watched) = jobs.get_mut(&self.job) {
            watched.streams -= 1;
            if watched.streams == 0 {
                jobs.remove(&self.job);
            }
        }
    }
}

async fn poll(db: Db, jobs: Weak<Jobs>) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(jobs) = jobs.upgrade() else {
            return;
        };
        let watched: Vec<JobId> = jobs
            .lock()
            .expect("the watch's lock")
            .keys()
            .copied()
            .collect();
        if watched.is_empty() {
            continue;
        }
        match events::latest(&db, &watched).await {
            Ok(latest) => {
                let jobs = jobs.lock().expect("the watch's lock");
                for (job, id) in latest {
                    if let Some(w) = jobs.get(&job) {
                        w.latest.send_if_modified(|seen| {
                            let newer = id > *seen;
                            if newer {
                                *seen = id;
                            }
                            newer
                        });
                    }
                }
            }
            // The streams keep their place and hear of the news once
            // PostgreSQL answers again.
            Err(e) => tracing::warn!(error = %e, "the event streams' poll failed"),
        }
    }
}
