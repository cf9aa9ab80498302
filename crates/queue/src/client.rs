//! The queue as its producers and consumers call it: put runs on their
//! stage's queue, take them in fair turns, settle them when their outcome
//! is in PostgreSQL. Every call is one round trip to Redis, whatever the
//! number of runs.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use redis::aio::ConnectionManager;
use voxline_config::{QueueSettings, RedisSettings};
use voxline_core::{Dispatch, Stage, StageRunId};

use crate::message::{StageJob, stage_job};
use crate::{QueueError, queue_name, scripts};

/// A handle on the queues of one namespace; cheap to clone.
#[derive(Clone)]
pub struct Queue {
    conn: ConnectionManager,
    namespace: String,
    settings: QueueSettings,
    redis: RedisSettings,
}

/// One delivery taken off a queue: the run id it was queued under, and its
/// message (or why the message could not be read).
pub(crate) struct Fetched {
    pub id: String,
    pub job: Result<StageJob, QueueError>,
}

/// What a stage's queue holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Runs ready now, waiting for a consumer.
    pub waiting: u64,
    /// Runs waiting for their retry's backoff to pass.
    pub delayed: u64,
    /// Runs delivered to a consumer and not settled yet.
    pub held: u64,
    /// The consumers heard from within `queue.consumer_timeout_seconds`.
    pub consumers: Vec<String>,
}

impl QueueStats {
    /// Everything on the queue not settled yet.
    pub fn depth(&self) -> u64 {
        self.waiting + self.delayed + self.held
    }

    /// The stage's workers alive: those whose consumer was heard from on
    /// Redis, and those holding a live lease in PostgreSQL (`leased`), each
    /// counted once (a worker's consumer and lease share its name).
    pub fn workers_alive(&self, leased: &HashSet<String>) -> u64 {
        let heard_only = self.consumers.iter().filter(|c| !leased.contains(*c));
        (leased.len() + heard_only.count()) as u64
    }
}

impl Queue {
    /// The queue on `redis`: nothing is sent until it is used, so this
    /// succeeds while Redis is away (only a URL that does not parse fails).
    pub async fn connect(redis: &RedisSettings, queue: &QueueSettings) -> Result<Self, QueueError> {
        let conn = connect(redis, Duration::from_secs(redis.response_timeout_seconds))?;
        Ok(Self {
            conn,
            namespace: redis.namespace.clone(),
            settings: queue.clone(),
            redis: redis.clone(),
        })
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn settings(&self) -> &QueueSettings {
        &self.settings
    }

    /// The shared connection (the gateway's rate limits and the vendor gate use it).
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// A connection of its own, for a consumer that blocks waiting for work.
    pub(crate) async fn blocking_connection(&self) -> Result<ConnectionManager, QueueError> {
        let wait = Duration::from_secs(self.settings.fetch_wait_seconds);
        let timeout = Duration::from_secs(self.redis.response_timeout_seconds) + wait;
        Ok(connect(&self.redis, timeout)?)
    }

    pub(crate) fn prefix(&self, stage: Stage) -> String {
        queue_name(&self.namespace, stage)
    }

    /// Puts runs on their stages' queues (a run already there stays as it is).
    pub async fn push(&self, dispatch: &[Dispatch]) -> Result<(), QueueError> {
        if dispatch.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        let invocations = self.pushes(dispatch);
        for i in &invocations {
            pipe.invoke_script(i).ignore();
        }
        run(&mut self.conn.clone(), &pipe).await
    }

    /// Consumer `consumer` settles runs of `stage` it took (`acks`: their
    /// outcome is in PostgreSQL) and puts what they scheduled on its queues,
    /// in one round trip; the acknowledgements come first, so a run that is
    /// queued again (a retry) is put back rather than taken for a duplicate.
    pub async fn settle(
        &self,
        consumer: &str,
        stage: Stage,
        acks: &[StageRunId],
        push: &[Dispatch],
    ) -> Result<(), QueueError> {
        let mut pipe = redis::pipe();
        let mut ack = scripts::ACK.key(self.prefix(stage));
        ack.arg(consumer);
        for run in acks {
            ack.arg(run.to_string());
        }
        if !acks.is_empty() {
            pipe.invoke_script(&ack).ignore();
        }
        let pushes = self.pushes(push);
        for i in &pushes {
            pipe.invoke_script(i).ignore();
        }
        if acks.is_empty() && pushes.is_empty() {
            return Ok(());
        }
        run(&mut self.conn.clone(), &pipe).await
    }

    /// Consumer `consumer` hands runs back undone, for delivery after `delay`.
    pub async fn nack(
        &self,
        consumer: &str,
        stage: Stage,
        runs: &[StageRunId],
        delay: Duration,
    ) -> Result<(), QueueError> {
        if runs.is_empty() {
            return Ok(());
        }
        let mut nack = scripts::NACK.key(self.prefix(stage));
        nack.arg(consumer).arg(delay.as_millis() as u64);
        for run in runs {
            nack.arg(run.to_string());
        }
        let mut pipe = redis::pipe();
        pipe.invoke_script(&nack).ignore();
        run(&mut self.conn.clone(), &pipe).await
    }

    /// Consumer `consumer` of `stage` stops: what it holds is ready again.
    pub async fn leave(&self, consumer: &str, stage: Stage) -> Result<(), QueueError> {
        let mut leave = scripts::LEAVE.key(self.prefix(stage));
        leave.arg(consumer);
        let mut pipe = redis::pipe();
        pipe.invoke_script(&leave).ignore();
        run(&mut self.conn.clone(), &pipe).await
    }

    /// Consumer `consumer` of `stage` is alive.
    pub async fn beat(&self, consumer: &str, stage: Stage) -> Result<(), QueueError> {
        let mut beat = scripts::BEAT.key(self.prefix(stage));
        beat.arg(consumer);
        let mut pipe = redis::pipe();
        pipe.invoke_script(&beat).ignore();
        run(&mut self.conn.clone(), &pipe).await
    }

    /// Takes up to `want` runs of `stage` for `consumer`, in fair turns.
    /// Answers them, and how long until the next delayed run is due.
    pub(crate) async fn fetch(
        &self,
        conn: &mut ConnectionManager,
        consumer: &str,
        stage: Stage,
        want: usize,
    ) -> Result<(Vec<Fetched>, Option<Duration>), QueueError> {
        let mut fetch = scripts::FETCH.key(self.prefix(stage));
        fetch
            .arg(consumer)
            .arg(want)
            .arg(self.settings.consumer_timeout_seconds * 1000);
        let mut pipe = redis::pipe();
        pipe.invoke_script(&fetch);
        let ((ids, bodies, next_due),): ((Vec<String>, Vec<String>, i64),) =
            query(conn, &pipe).await?;
        let jobs = ids
            .into_iter()
            .zip(bodies)
            .map(|(id, body)| Fetched {
                job: serde_json::from_str(&body).map_err(|e| QueueError::Malformed {
                    queue: self.prefix(stage),
                    message: e.to_string(),
                }),
                id,
            })
            .collect();
        let now = chrono::Utc::now().timestamp_millis();
        let next = (next_due >= 0).then(|| Duration::from_millis((next_due - now).max(0) as u64));
        Ok((jobs, next))
    }

    /// Waits up to `wait` for runs to be made ready on `stage`'s queue.
    pub(crate) async fn wait_for_work(
        &self,
        conn: &mut ConnectionManager,
        stage: Stage,
        wait: Duration,
    ) -> Result<(), QueueError> {
        let seconds = wait.as_secs_f64().max(0.01);
        let _: Option<(String, String)> = redis::cmd("BLPOP")
            .arg(format!("{}:bell", self.prefix(stage)))
            .arg(seconds)
            .query_async(conn)
            .await?;
        Ok(())
    }

    /// What `stage`'s queue holds.
    pub async fn stats(&self, stage: Stage) -> Result<QueueStats, QueueError> {
        let mut stats = scripts::STATS.key(self.prefix(stage));
        stats.arg(self.settings.consumer_timeout_seconds * 1000);
        let mut pipe = redis::pipe();
        pipe.invoke_script(&stats);
        let ((waiting, delayed, held, consumers),): ((u64, u64, u64, Vec<String>),) =
            query(&mut self.conn.clone(), &pipe).await?;
        Ok(QueueStats {
            waiting,
            delayed,
            held,
            consumers,
        })
    }

    /// Whether Redis answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), QueueError> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// A value that changes when Redis loses its data (a restart without
    /// persistence, a `FLUSHALL`): the janitor then re-sends every queued run.
    pub async fn epoch(&self) -> Result<String, QueueError> {
        let key = format!("{}:epoch", self.namespace);
        let fresh = uuid::Uuid::new_v4().to_string();
        let mut conn = self.conn.clone();
        let _: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(&fresh)
            .arg("NX")
            .query_async(&mut conn)
            .await?;
        Ok(redis::cmd("GET").arg(&key).query_async(&mut conn).await?)
    }

    /// One push invocation per stage among `dispatch`.
    fn pushes(&self, dispatch: &[Dispatch]) -> Vec<redis::ScriptInvocation<'static>> {
        let mut by_stage: BTreeMap<&str, Vec<&Dispatch>> = BTreeMap::new();
        for d in dispatch {
            by_stage.entry(d.stage.as_str()).or_default().push(d);
        }
        let step_ms = (self.settings.priority_step_seconds * 1000.0) as i64;
        let now = chrono::Utc::now();
        by_stage
            .into_values()
            .map(|group| {
                let mut push = scripts::PUSH.key(self.prefix(group[0].stage));
                push.arg(step_ms);
                for d in group {
                    let delay = (d.not_before - now).num_milliseconds().max(0);
                    let body = serde_json::to_string(&stage_job(d)).unwrap_or_default();
                    push.arg(d.run_id.to_string())
                        .arg(d.tenant.to_string())
                        .arg(d.priority.level())
                        .arg(delay)
                        .arg(d.since.timestamp_millis())
                        .arg(body);
                }
                push
            })
            .collect()
    }
}

/// A connection that opens on first use and again after each loss, so a
/// process starts (and keeps its work) while Redis is away: calls fail
/// until it answers, as they do during an outage.
fn connect(
    settings: &RedisSettings,
    timeout: Duration,
) -> Result<ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(settings.url.expose())?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_response_timeout(Some(timeout))
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(2));
    ConnectionManager::new_lazy_with_config(client, config)
}

/// Runs a pipeline of scripts, loading them first if Redis forgot them (a
/// restart): scripts in a pipeline are sent by their hash alone.
async fn run(conn: &mut ConnectionManager, pipe: &redis::Pipeline) -> Result<(), QueueError> {
    let _: () = query(conn, pipe).await?;
    Ok(())
}

async fn query<T: redis::FromRedisValue>(
    conn: &mut ConnectionManager,
    pipe: &redis::Pipeline,
) -> Result<T, QueueError> {
    match pipe.query_async(conn).await {
        Ok(v) => Ok(v),
        Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
            for script in [
                &scripts::PUSH,
                &scripts::FETCH,
                &scripts::ACK,
                &scripts::NACK,
                &scripts::LEAVE,
                &scripts::BEAT,
                &scripts::STATS,
            ] {
                let _: String = script.load_async(conn).await?;
            }
            Ok(pipe.query_async(conn).await?)
        }
        Err(e) => Err(e.into()),
    }
}
