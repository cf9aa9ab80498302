//! The vendor gate on Redis, so every replica of every worker shares each
//! vendor's concurrency cap and request rate.
//!
//! The cap is a sorted set of turns scored by when each lapses: a turn is
//! taken only while fewer than the cap are live, and a worker killed mid
//! call cannot hold its place beyond the vendor's timeout. The rate is GCRA
//! (`rate::take`). A request waits for both, at most the vendor's timeout;
//! when Redis itself fails, the gate lets the request through and says so,
//! as the gateway's limits do.

use std::time::{Duration, Instant};

use rand::Rng;
use redis::aio::ConnectionManager;
use voxline_config::VendorLimits;
use voxline_providers::{ProviderError, Turn, VendorGate};

use voxline_rate_limit as rate;

const TAKE_TURN: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
return 0
";

pub struct RedisGate {
    conn: ConnectionManager,
    namespace: String,
}

impl RedisGate {
    pub fn new(conn: ConnectionManager, namespace: &str) -> Self {
        Self {
            conn,
            namespace: namespace.to_owned(),
        }
    }

    fn key(&self, vendor: &str, what: &str) -> String {
        format!("{}:vendor:{vendor}:{what}", self.namespace)
    }

    /// Tries once for a place under the cap; `Ok(false)` when all are taken.
    async fn try_place(
        &self,
        key: &str,
        cap: u32,
        lapse_ms: u64,
        id: &str,
    ) -> Result<bool, redis::RedisError> {
        let mut conn = self.conn.clone();
        let taken: i64 = redis::Script::new(TAKE_TURN)
            .key(key)
            .arg(cap)
            .arg(lapse_ms)
            .arg(id)
            .invoke_async(&mut conn)
            .await?;
        Ok(taken == 1)
    }
}

#[async_trait::async_trait]
impl VendorGate for RedisGate {
    /// A place under the cap first, then the request budgets: a budget is
    /// spent only by a request that can start at once, so callers queued for
    /// a place never save up tokens and then burst past the rate together.
    async fn enter(&self, vendor: &str, limits: &VendorLimits) -> Result<Turn, ProviderError> {
        let patience = Duration::from_secs(limits.timeout_seconds);
        let deadline = Instant::now() + patience;
        let too_long = |what: String| ProviderError::Unavailable {
            engine: vendor.to_owned(),
            message: format!(
                "no turn within {} s: {what} (the stage will be retried later)",
                patience.as_secs()
            ),
        };
        let turn = self
            .take_place(vendor, limits, deadline)
            .await
            .map_err(&too_long)?;
        // Dropping the turn on a spent budget hands the place back.
        self.spend_budgets(vendor, limits, deadline)
            .await
            .map_err(too_long)?;
        Ok(turn)
    }
}

impl RedisGate {
    /// Waits until every request budget of `limits` lets one more request
    /// start; `Err` says which one stayed spent past `deadline`.
    async fn spend_budgets(
        &self,
        vendor: &str,
        limits: &VendorLimits,
        deadline: Instant,
    ) -> Result<(), String> {
        // Per minute, spread evenly; per hour, the hour's budget may be
        // spent at once (how hourly quotas are counted).
        let budgets = [
            ("rate", limits.requests_per_minute, 60_000u64, false),
            ("hourly", limits.requests_per_hour, 3_600_000u64, true),
        ];
        for (name, per_period, period_ms, bursty) in budgets {
            if per_period == 0 {
                continue;
            }
            let key = self.key(vendor, name);
            let interval_ms = period_ms / u64::from(per_period);
            let burst_ms = if bursty { period_ms } else { interval_ms };
            loop {
                let mut conn = self.conn.clone();
                match rate::take(&mut conn, &key, interval_ms, burst_ms).await {
                    Ok(None) => break,
                    Ok(Some(wait_ms)) => {
                        let wait = Duration::from_millis(wait_ms);
                        if Instant::now() + wait > deadline {
                            return Err(format!(
                                "its request budget ({per_period} per {}) is spent for {} s more",
                                if bursty { "hour" } else { "minute" },
                                wait.as_secs().max(1)
                            ));
                        }
                        tokio::time::sleep(wait).await;
                    }
                    Err(e) => {
                        tracing::warn!(vendor, error = %e, "vendor rate limit unavailable; letting the request through");
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// A place under the concurrency cap, polled for until `deadline`
    /// (from 5 ms, doubling to 250 ms, jittered).
    async fn take_place(
        &self,
        vendor: &str,
        limits: &VendorLimits,
        deadline: Instant,
    ) -> Result<Turn, String> {
        if limits.max_concurrency == 0 {
            return Ok(Turn::free());
        }
        let key = self.key(vendor, "inflight");
        let id = uuid::Uuid::new_v4().to_string();
        // A place lapses after the longest its holder may wait on a budget
        // and then take over the request, and a bit.
        let lapse_ms = limits.timeout_seconds * 2000 + 5_000;
        let mut pause_ms = 5u64;
        loop {
            match self
                .try_place(&key, limits.max_concurrency, lapse_ms, &id)
                .await
            {
                Ok(true) => {
                    let conn = self.conn.clone();
                    return Ok(Turn::new(move || {
                        tokio::spawn(async move {
                            let mut conn = conn;
                            let _: Result<i64, _> = redis::cmd("ZREM")
                                .arg(&key)
                                .arg(&id)
                                .query_async(&mut conn)
                                .await;
                        });
                    }));
                }
                Ok(false) if Instant::now() < deadline => {
                    let ms = rand::rng().random_range(pause_ms / 2..=pause_ms);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    pause_ms = (pause_ms * 2).min(250);
                }
                Ok(false) => {
                    return Err(format!(
                        "all {} places (limits.max_concurrency) stayed taken",
                        limits.max_concurrency
                    ));
                }
                Err(e) => {
                    tracing::warn!(vendor, error = %e, "vendor concurrency cap unavailable; letting the request through");
                    return Ok(Turn::free());
                }
            }
        }
    }
}
