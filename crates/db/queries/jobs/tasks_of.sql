-- The tasks of several jobs (listings).
SELECT id, job_id, language, status, stage, stages, progress, message, error_code,
       error_message, stats, credits, created_at, updated_at, started_at, finished_at
FROM tasks WHERE job_id = ANY($1) ORDER BY job_id, language
