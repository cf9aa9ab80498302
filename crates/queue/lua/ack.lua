-- Consumer ARGV[1] is done with runs ARGV[2..]: they leave the queue. A run
-- it no longer holds (handed to another after it went silent) is left alone.
local consumer = ARGV[1]
local done = 0
for i = 2, #ARGV do
  if redis.call('HDEL', p .. ':held:' .. consumer, ARGV[i]) == 1 then
    redis.call('HDEL', p .. ':msg', ARGV[i])
    done = done + 1
  end
end
redis.call('ZADD', p .. ':consumers', now_ms(), consumer)
return done
