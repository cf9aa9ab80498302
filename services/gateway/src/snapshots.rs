//! The jobs the gateway has shown lately, kept so that a poll for a job
//! that has not changed costs one version check, a poll for a job that has
//! only reported progress costs that and the tasks' progress, and the
//! checks of requests arriving together go as one statement. A job's
//! version is the count of its events (every change a view shows records
//! one), so a snapshot is served only while PostgreSQL says it is still
//! current: the cache saves reads, never freshness. Download links are
//! signed per request from the snapshot, so none outlives its time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use voxline_batch::Batcher;
use voxline_core::{JobId, TenantId};
use voxline_db::snapshots::{self, Seen, Snapshot, Wanted};
use voxline_db::{Db, DbError};

/// Version checks gathered per statement, and statements at once.
const BATCH: usize = 256;
const IN_FLIGHT: usize = 1;

type Answer = Result<Seen, DbError>;

/// Current snapshots of jobs, read in batches and kept between reads.
#[derive(Clone)]
pub struct Snapshots {
    kept: Arc<Mutex<HashMap<JobId, Arc<Snapshot>>>>,
    /// How many are kept (`server.job_views_kept`); past it, those of the
    /// jobs that changed longest ago go.
    capacity: usize,
    reads: Batcher<Wanted, Answer>,
}

impl Snapshots {
    pub fn new(db: Db, capacity: usize) -> Self {
        let reads = Batcher::spawn(BATCH, IN_FLIGHT, move |wanted: Vec<Wanted>| {
            let db = db.clone();
            async move {
                match snapshots::read(&db, &wanted).await {
                    Ok(seen) => seen.into_iter().map(Ok).collect(),
                    Err(e) => {
                        let shared = Arc::new(e);
                        wanted
                            .iter()
                            .map(|_| Err(DbError::Shared(shared.clone())))
                            .collect()
                    }
                }
            }
        });
        Self {
            kept: Arc::default(),
            capacity: capacity.max(1),
            reads,
        }
    }

    /// The tenant's job as it is now, or `None` if the tenant has no such job.
    pub async fn get(
        &self,
        tenant: TenantId,
        job: JobId,
    ) -> Result<Option<Arc<Snapshot>>, DbError> {
        let mut kept = self
            .kept
            .lock()
            .expect("snapshot cache poisoned")
            .get(&job)
            .filter(|s| s.job.tenant_id == tenant)
            .cloned();
        // Twice at most: a job read without a snapshot held is never
        // answered with progress alone.
        loop {
            match self.read(job, tenant, kept.as_deref()).await? {
                Seen::Unchanged => return Ok(kept),
                Seen::Progressed(progress) => {
                    match kept.as_deref().and_then(|k| k.progressed(&progress)) {
                        Some(moved) => return Ok(Some(self.keep(Arc::new(moved)))),
                        // Progress of a task the kept snapshot lacks: the
                        // job is read whole.
                        None => kept = None,
                    }
                }
                Seen::Changed(snapshot) => return Ok(Some(self.keep(Arc::from(snapshot)))),
                Seen::Missing => {
                    // Gone: forgotten, unless it is another tenant's.
                    let mut all = self.kept.lock().expect("snapshot cache poisoned");
                    if all.get(&job).is_some_and(|s| s.job.tenant_id == tenant) {
                        all.remove(&job);
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// The job as PostgreSQL has it, against the snapshot the caller holds.
    async fn read(
        &self,
        job: JobId,
        tenant: TenantId,
        kept: Option<&Snapshot>,
    ) -> Result<Seen, DbError> {
        let wanted = Wanted {
            job,
            tenant,
            known: kept.map(|s| s.version),
        };
        self.reads
            .submit(wanted)
            .await
            .ok_or_else(|| DbError::Corrupt("the snapshot reader stopped".into()))?
    }

    /// Keeps `snapshot` unless a newer one of its job is kept already (a
    /// slower read finishing late); returns the newer of the two.
    fn keep(&self, snapshot: Arc<Snapshot>) -> Arc<Snapshot> {
        let mut kept = self.kept.lock().expect("snapshot cache poisoned");
        if let Some(newer) = kept
            .get(&snapshot.job.id)
            .filter(|k| k.version.events > snapshot.version.events)
        {
            return newer.clone();
        }
        if kept.len() >= self.capacity && !kept.contains_key(&snapshot.job.id) {
            // Full: the jobs that changed longest ago go, a tenth at once,
            // so the sort is paid once per many insertions.
            let mut by_age: Vec<(chrono::DateTime<chrono::Utc>, JobId)> = kept
                .values()
                .map(|s| (s.job.updated_at, s.job.id))
                .collect();
            by_age.sort_unstable();
            for (_, id) in by_age.iter().take(self.capacity.div_ceil(10)) {
                kept.remove(id);
            }
        }
        kept.insert(snapshot.job.id, snapshot.clone());
        snapshot
    }
}
