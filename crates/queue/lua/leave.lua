-- Consumer ARGV[1] stops: whatever it still holds is ready again at once.
local consumer = ARGV[1]
local held = p .. ':held:' .. consumer
local n = 0
for _, id in ipairs(redis.call('HKEYS', held)) do
  if ready(id) then n = n + 1 end
end
redis.call('DEL', held)
redis.call('ZREM', p .. ':consumers', consumer)
if n > 0 then ring(n) end
return n
