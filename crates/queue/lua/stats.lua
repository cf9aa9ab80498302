-- The queue's figures: runs waiting (ready now), delayed, held by
-- consumers, and the consumers seen within ARGV[1] ms.
local now = now_ms()
local waiting = 0
for _, tenant in ipairs(redis.call('ZRANGE', p .. ':tenants', 0, -1)) do
  waiting = waiting + redis.call('ZCARD', p .. ':ready:' .. tenant)
end
local delayed = redis.call('ZCARD', p .. ':delayed')
local total = redis.call('HLEN', p .. ':msg')
local alive = redis.call('ZRANGEBYSCORE', p .. ':consumers', now - tonumber(ARGV[1]), '+inf')
return {waiting, delayed, total - waiting - delayed, alive}
