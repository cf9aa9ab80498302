-- A cancelled job's files are gone: its artifacts are forgotten.
WITH forgotten AS (DELETE FROM artifacts WHERE job_id = $1)
UPDATE jobs SET cleaned_at = now() WHERE id = $1
