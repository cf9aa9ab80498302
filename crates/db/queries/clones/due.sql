-- Live clones whose job no longer needs them: the job is gone, cancelled,
-- or ended with none of its files left (they expired). At most $1.
SELECT c.id, c.job_id, c.engine, c.speaker, c.voice_id, c.created_at, c.deleted_at
FROM cloned_voices c
LEFT JOIN jobs j ON j.id = c.job_id
WHERE c.deleted_at IS NULL
  AND (j.id IS NULL
       OR j.status = 'cancelled'
       OR (j.status IN ('completed', 'failed')
           AND NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.job_id = c.job_id)))
ORDER BY c.created_at
LIMIT $1
