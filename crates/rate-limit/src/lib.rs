//! Request rates shared by every replica: GCRA on one Redis key per budget
//! (the key holds the theoretical arrival time of the next request), used
//! by the gateway's per-client limits and by the vendor gate.

use redis::aio::ConnectionManager;

const GCRA: &str = r"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
local next_tat = math.max(tat, now) + interval
if next_tat - now > burst then
  return {0, next_tat - now - burst}
end
redis.call('SET', KEYS[1], next_tat, 'PX', next_tat - now)
return {1, 0}
";

/// Takes one request from the budget at `key`: one every `interval_ms`,
/// with up to `burst_ms` of requests allowed ahead of schedule. Returns
/// `None` when allowed, or how many milliseconds to wait.
pub async fn take(
    conn: &mut ConnectionManager,
    key: &str,
    interval_ms: u64,
    burst_ms: u64,
) -> Result<Option<u64>, redis::RedisError> {
    let (allowed, wait_ms): (i64, i64) = redis::Script::new(GCRA)
        .key(key)
        .arg(interval_ms.max(1))
        .arg(burst_ms.max(interval_ms.max(1)))
        .invoke_async(conn)
        .await?;
    Ok((allowed != 1).then_some(wait_ms.max(1) as u64))
}
