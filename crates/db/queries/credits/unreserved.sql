-- What job $1's open tasks (not in a state of $2) still need reserved for their current round.
SELECT coalesce(sum(credits), 0)::bigint AS needed FROM tasks t
WHERE t.job_id = $1 AND t.credits IS NOT NULL AND NOT (t.status = ANY($2::task_status[]))
  AND NOT EXISTS (SELECT 1 FROM credit_entries r WHERE r.task_id = t.id
                  AND r.kind = 'reserve' AND r.round = t.credit_round)
