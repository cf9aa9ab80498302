-- Workers whose lease ran out more than $1 seconds ago and hold nothing.
DELETE FROM workers w
WHERE w.lease_expires_at < now() - $1::float8 * interval '1 second'
  AND NOT EXISTS (SELECT 1 FROM stage_runs r WHERE r.lease_owner = w.id AND r.finished_at IS NULL AND r.status = $2)
