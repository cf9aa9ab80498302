-- Puts runs on the queue, each once: a run already waiting, delayed or held
-- is left as it is (re-sends by the janitor are harmless).
-- ARGV[1]: ms a priority level is worth; then per run, five values:
-- run id, tenant, priority level, delay in ms, body. Answers how many were new.
local step = tonumber(ARGV[1])
local now = now_ms()
local added, woken = 0, 0
for i = 2, #ARGV, 5 do
  local id, tenant = ARGV[i], ARGV[i + 1]
  local level, delay = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  local rank = now - level * step
  if redis.call('HSETNX', p .. ':msg', id, tenant .. '\n' .. rank .. '\n' .. ARGV[i + 4]) == 1 then
    added = added + 1
    if delay > 0 then
      redis.call('ZADD', p .. ':delayed', now + delay, id)
    else
      ready(id)
      woken = woken + 1
    end
  end
end
if woken > 0 then ring(woken) end
return added
