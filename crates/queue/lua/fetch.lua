-- Delivers up to ARGV[2] runs to consumer ARGV[1], serving tenants in turn
-- (the tenant of lowest virtual time first, its lowest-ranked run) and
-- noting them held. First it makes due delayed runs ready, and hands back
-- the runs of consumers silent for ARGV[3] ms. Answers the run ids, their
-- bodies, and when the next delayed run is due (ms, -1 for none).
local consumer, want, silent = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
redis.call('ZADD', p .. ':consumers', now, consumer)
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', p .. ':consumers', '-inf', now - silent, 'LIMIT', 0, 8)) do
  local held = p .. ':held:' .. dead
  local ready_again = 0
  for _, id in ipairs(redis.call('HKEYS', held)) do
    if ready(id) then ready_again = ready_again + 1 end
  end
  redis.call('DEL', held)
  redis.call('ZREM', p .. ':consumers', dead)
  if ready_again > 0 then ring(ready_again) end
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. ':delayed', '-inf', now, 'LIMIT', 0, 256)) do
  redis.call('ZREM', p .. ':delayed', id)
  ready(id)
end
local ids, out = {}, {}
local served
while #out < want do
  local first = redis.call('ZRANGE', p .. ':tenants', 0, 0, 'WITHSCORES')
  if #first == 0 then break end
  local tenant, turn = first[1], tonumber(first[2])
  local queue = p .. ':ready:' .. tenant
  local popped = redis.call('ZPOPMIN', queue)
  if #popped > 0 then
    local id = popped[1]
    local v = redis.call('HGET', p .. ':msg', id)
    if v then
      redis.call('HSET', p .. ':held:' .. consumer, id, now)
      ids[#ids + 1] = id
      out[#out + 1] = string.match(v, '^[^\n]*\n[^\n]*\n(.*)$')
    end
    served = turn
  end
  if redis.call('ZCARD', queue) > 0 then
    redis.call('ZADD', p .. ':tenants', turn + 1, tenant)
  else
    redis.call('ZREM', p .. ':tenants', tenant)
  end
end
if served then redis.call('SET', p .. ':clock', served) end
local next_due = redis.call('ZRANGE', p .. ':delayed', 0, 0, 'WITHSCORES')
return {ids, out, tonumber(next_due[2] or -1)}
