-- Every stage run of a job, in creation order.
SELECT language, stage, status, attempt, failures, engine, error_code, error_message,
       started_at, finished_at
FROM stage_runs WHERE job_id = $1 ORDER BY created_at, language
