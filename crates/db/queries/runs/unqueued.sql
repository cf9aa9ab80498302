-- Queued runs that are due and became due more than $1 seconds ago,
-- oldest first after the cursor ($3, $4): what the janitor makes sure the
-- queue holds (Redis lost them, or a crash came between commit and send).
SELECT r.id, r.stage, r.attempt, r.run_after, j.tenant_id, j.priority, j.traceparent, j.created_at
FROM stage_runs r JOIN jobs j ON j.id = r.job_id
WHERE r.finished_at IS NULL AND r.status = $5 AND r.run_after <= now() - $1::float8 * interval '1 second'
  AND ($3::timestamptz IS NULL OR (r.run_after, r.id) > ($3, $4))
ORDER BY r.run_after, r.id
LIMIT $2
