-- The stage runs of the jobs $1, each job's in creation order.
SELECT job_id, language, stage, status, attempt, failures, engine, error_code, error_message,
       started_at, finished_at
FROM stage_runs WHERE job_id = ANY($1::uuid[])
ORDER BY job_id, created_at, language
