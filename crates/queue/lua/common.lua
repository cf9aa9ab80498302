-- Shared by every script of a stage's queue (prepended to each). KEYS[1] is
-- the queue's prefix, `{namespace:stage:NAME}`: every key of one queue
-- shares its hash tag, so a script touches one slot of a Redis Cluster.
--
--   :msg            hash   run id -> "tenant\nrank\nbody" (waiting, delayed or held)
--   :ready:TENANT   zset   run id by rank: the tenant's waiting runs
--   :tenants        zset   tenant by virtual time: tenants with runs waiting
--   :clock          string the virtual time of the last tenant served
--   :delayed        zset   run id by the time it is due (ms)
--   :held:CONSUMER  hash   run id -> when fetched (ms): delivered, not settled
--   :consumers      zset   consumer by its last sign of life (ms)
--   :bell           list   one token per run made ready: fetchers block on it
local p = KEYS[1]

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Makes a known message ready: into its tenant's set, the tenant into the
-- rotation at the current virtual time if it was not waiting already.
local function ready(id)
  local v = redis.call('HGET', p .. ':msg', id)
  if not v then return false end
  local tenant, rank = string.match(v, '^([^\n]*)\n([^\n]*)\n')
  redis.call('ZADD', p .. ':ready:' .. tenant, tonumber(rank), id)
  local clock = redis.call('GET', p .. ':clock') or '0'
  redis.call('ZADD', p .. ':tenants', 'NX', clock, tenant)
  return true
end

-- Wakes up to `n` blocked fetchers (at most 64 tokens wait).
local function ring(n)
  for _ = 1, math.min(n, 64) do
    redis.call('RPUSH', p .. ':bell', '1')
  end
  redis.call('LTRIM', p .. ':bell', -64, -1)
end
