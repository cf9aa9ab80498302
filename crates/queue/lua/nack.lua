-- Consumer ARGV[1] gives runs ARGV[3..] back, to be delivered again after
-- ARGV[2] ms (it could not record what became of them).
local consumer, delay = ARGV[1], tonumber(ARGV[2])
local due = now_ms() + delay
for i = 3, #ARGV do
  if redis.call('HDEL', p .. ':held:' .. consumer, ARGV[i]) == 1 then
    if delay > 0 then
      redis.call('ZADD', p .. ':delayed', due, ARGV[i])
    elseif ready(ARGV[i]) then
      ring(1)
    end
  end
end
return 0
