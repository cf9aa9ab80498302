-- A cancelled job's files are gone: its artifacts are forgotten, and event
-- $2 tells the job's readers.
WITH forgotten AS (DELETE FROM artifacts WHERE job_id = $1 RETURNING 1),
cleaned AS (UPDATE jobs SET cleaned_at = now() WHERE id = $1)
INSERT INTO job_events (job_id, kind, data)
SELECT $1, $2, jsonb_build_object('reason', 'cancelled', 'files', count(*))
FROM forgotten HAVING count(*) > 0
