-- Settles job $1's tasks that ended (in a state of $2): each gives back the
-- reservation of its current round, and those that completed ($3) are
-- charged their price. Idempotent: entries are keyed by (task, kind, round).
WITH released AS (
    INSERT INTO credit_entries (tenant_id, job_id, task_id, kind, round, amount)
    SELECT j.tenant_id, t.job_id, t.id, 'release', t.credit_round, t.credits
    FROM tasks t JOIN jobs j ON j.id = t.job_id
    WHERE t.job_id = $1 AND t.credits IS NOT NULL AND t.status = ANY($2::task_status[])
      AND EXISTS (SELECT 1 FROM credit_entries r WHERE r.task_id = t.id
                  AND r.kind = 'reserve' AND r.round = t.credit_round)
    ON CONFLICT (task_id, kind, round) DO NOTHING
)
INSERT INTO credit_entries (tenant_id, job_id, task_id, kind, round, amount)
SELECT j.tenant_id, t.job_id, t.id, 'charge', 0, -t.credits
FROM tasks t JOIN jobs j ON j.id = t.job_id
WHERE t.job_id = $1 AND t.credits IS NOT NULL AND t.status = $3
ON CONFLICT (task_id, kind, round) DO NOTHING
