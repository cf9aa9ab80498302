-- The backlog of each stage that has one: runs queued ($1) and due, queued
-- for later (a retry's backoff, a scheduled publication), running ($2), and
-- how long the oldest due run has been due.
SELECT stage,
       count(*) FILTER (WHERE status = $1 AND run_after <= now()) AS queued_due,
       count(*) FILTER (WHERE status = $1 AND run_after > now()) AS scheduled,
       count(*) FILTER (WHERE status = $2) AS running,
       coalesce(extract(epoch FROM now() - min(run_after)
                        FILTER (WHERE status = $1 AND run_after <= now())), 0)::float8
           AS oldest_due_seconds
FROM stage_runs WHERE finished_at IS NULL AND status IN ($1, $2)
GROUP BY stage
