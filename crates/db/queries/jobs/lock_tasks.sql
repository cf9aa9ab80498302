-- The second lock: the job's tasks.
SELECT t.id, t.job_id, t.language, t.status, t.stage, t.stages, t.progress, t.message,
       t.error_code, t.error_message, t.stats, t.credits, t.created_at, t.updated_at,
       t.started_at, t.finished_at
FROM tasks t WHERE t.job_id = $1 ORDER BY t.id FOR UPDATE
