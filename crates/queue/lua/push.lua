-- Puts runs on the queue, each once: a run already waiting, delayed or held
-- is left as it is (re-sends by the janitor are harmless).
-- ARGV[1]: ms a priority level is worth; then per run, six values: run id,
-- tenant, priority level, delay in ms, the job's age (when it was made, ms),
-- body. A run's rank is its job's age less its priority's steps, so within
-- a tenant the oldest job goes first at every stage and a higher priority
-- goes ahead of jobs made up to that many steps before it, never further.
-- Answers how many were new.
local step = tonumber(ARGV[1])
local now = now_ms()
local added, woken = 0, 0
for i = 2, #ARGV, 6 do
  local id, tenant = ARGV[i], ARGV[i + 1]
  local level, delay = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  local rank = tonumber(ARGV[i + 4]) - level * step
  if redis.call('HSETNX', p .. ':msg', id, tenant .. '\n' .. rank .. '\n' .. ARGV[i + 5]) == 1 then
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
