use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskSink};
use apalis_redis::{Config, ConnectionManager, RedisStorage};
use chrono::Utc;
use voxline_config::RedisSettings;
use voxline_core::Stage;
use voxline_db::Db;
use voxline_db::outbox::{self, Dispatch};

use crate::{StageJob, queue_name, stage_job};

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("could not put a message on the `{queue}` queue: {message}")]
    Push { queue: String, message: String },
    #[error(transparent)]
    Db(#[from] voxline_db::DbError),
    #[error("{0}")]
    Setup(String),
}

/// Puts stage messages on their queues and clears their outbox rows.
#[derive(Clone)]
pub struct Dispatcher {
    conn: ConnectionManager,
    namespace: String,
    db: Db,
}

impl Dispatcher {
    /// Connects to Redis with a response timeout, so a stalled server makes
    /// calls fail (and pools restart) instead of hanging forever.
    pub async fn connect(settings: &RedisSettings, db: Db) -> Result<Self, QueueError> {
        let conn = connect(settings).await?;
        Ok(Self {
            conn,
            namespace: settings.namespace.clone(),
            db,
        })
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The apalis settings of a stage's queue, shared by producers and workers.
    pub fn queue_config(&self, stage: Stage) -> Config {
        queue_config(&self.namespace, stage)
    }

    /// Sends `dispatch` to Redis (delayed ones as scheduled messages) and then
    /// removes their outbox rows. What fails to send stays in the outbox for
    /// the reconciler; the error is returned for the log.
    pub async fn send(&self, dispatch: &[Dispatch]) -> Result<(), QueueError> {
        let mut sent = Vec::with_capacity(dispatch.len());
        let mut failure = None;
        for d in dispatch {
            match self.push(d).await {
                Ok(()) => sent.push(d.clone()),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        outbox::sent(&self.db, &sent).await?;
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn push(&self, d: &Dispatch) -> Result<(), QueueError> {
        let queue = queue_name(&self.namespace, d.stage);
        let mut storage = RedisStorage::<StageJob>::new(self.conn.clone())
            .with_config(self.queue_config(d.stage));
        let message = stage_job(d);
        let wait = (d.not_before - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        let result = if wait > Duration::from_millis(500) {
            storage
                .push_task(TaskBuilder::new(message).run_after(wait).build())
                .await
        } else {
            storage.push(message).await
        };
        result.map_err(|e| QueueError::Push {
            queue,
            message: e.to_string(),
        })
    }

    /// Number of messages waiting on a stage's queue: those ready to fetch
    /// and those scheduled (apalis-redis puts every pushed message in its
    /// scheduled set first, even one due now, until a worker polls it).
    pub async fn depth(&self, stage: Stage) -> Result<u64, QueueError> {
        let config = self.queue_config(stage);
        let mut conn = self.conn.clone();
        let (ready, scheduled): (u64, u64) = redis::pipe()
            .cmd("LLEN")
            .arg(config.active_jobs_list())
            .cmd("ZCARD")
            .arg(config.scheduled_jobs_set())
            .query_async(&mut conn)
            .await?;
        Ok(ready + scheduled)
    }

    /// How long a worker may be silent before apalis counts it dead and
    /// hands its messages to others: the window for [`Self::workers_alive`].
    pub fn dead_worker_after(&self) -> Duration {
        let config = queue_config(&self.namespace, Stage::Transcribe);
        config.heartbeat_interval * config.missed_heartbeats as u32
    }

    /// Number of workers of a stage seen alive within `within`: those whose
    /// apalis heartbeat reached Redis since then, and those holding a live
    /// lease in PostgreSQL (a busy worker may not heartbeat while its stage
    /// runs). Dead workers stay in apalis's set with their last beat, so
    /// they fall out by age.
    pub async fn workers_alive(&self, stage: Stage, within: Duration) -> Result<u64, QueueError> {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_sub(within)
            .as_secs();
        let mut conn = self.conn.clone();
        let beating: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.queue_config(stage).workers_set())
            .arg(since)
            .arg("+inf")
            .query_async(&mut conn)
            .await?;
        let mut alive: std::collections::HashSet<String> = beating.into_iter().collect();
        alive.extend(voxline_db::ops::lease_holders(&self.db, stage).await?);
        Ok(alive.len() as u64)
    }

    /// Whether Redis answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }
}

pub(crate) async fn connect(
    settings: &RedisSettings,
) -> Result<ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(settings.url.expose())?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_response_timeout(Some(Duration::from_secs(settings.response_timeout_seconds)))
        .set_connection_timeout(Some(Duration::from_secs(5)));
    client.get_connection_manager_with_config(config).await
}

/// One message per fetch, so a killed worker strands at most one. An idle
/// apalis-redis worker only looks for new messages when its heartbeat timer
/// wakes it, so the heartbeat interval is also the pick-up latency: 1 s,
/// with a dead worker declared after 15 missed beats (its message returns
/// to the queue in about 15 s rather than apalis's default 5 min).
/// The apalis configuration of a stage's queue: explicit name, one message per
/// fetch, a heartbeat a second (benchmarks build their floor on it too).
pub fn queue_config(namespace: &str, stage: Stage) -> Config {
    Config::default()
        .queue(queue_name(namespace, stage))
        .batch_size(1)
        .heartbeat_interval(Duration::from_secs(1))
        .missed_heartbeats(15)
        .persist_results(false)
        .emit_events(false)
}
