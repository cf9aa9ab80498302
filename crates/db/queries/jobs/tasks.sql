-- The tasks of a job, in the order the client listed the languages.
SELECT t.id, t.job_id, t.language, t.status, t.stage, t.stages, t.progress, t.message,
       t.error_code, t.error_message, t.stats, t.credits, t.created_at, t.updated_at,
       t.started_at, t.finished_at
FROM tasks t JOIN jobs j ON j.id = t.job_id
WHERE t.job_id = $1
ORDER BY array_position(j.target_languages, t.language), t.language
