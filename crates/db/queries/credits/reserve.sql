-- Reserves the price of job $1's open tasks (not in a state of $3) for their current round.
INSERT INTO credit_entries (tenant_id, job_id, task_id, kind, round, amount)
SELECT $2, t.job_id, t.id, 'reserve', t.credit_round, -t.credits FROM tasks t
WHERE t.job_id = $1 AND t.credits IS NOT NULL AND NOT (t.status = ANY($3::task_status[]))
  AND NOT EXISTS (SELECT 1 FROM credit_entries r WHERE r.task_id = t.id
                  AND r.kind = 'reserve' AND r.round = t.credit_round)
ON CONFLICT (task_id, kind, round) DO NOTHING
