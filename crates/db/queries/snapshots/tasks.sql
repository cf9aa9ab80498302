-- The tasks of the jobs $1, each job's in the order its client listed the
-- languages. (`= ANY($1)` on both tables: PostgreSQL then finds the jobs by
-- their key rather than scanning them for a batch it cannot size.)
SELECT t.id, t.job_id, t.language, t.status, t.stage, t.stages, t.progress, t.message,
       t.error_code, t.error_message, t.stats, t.credits, t.created_at, t.updated_at,
       t.started_at, t.finished_at
FROM tasks t JOIN jobs j ON j.id = t.job_id
WHERE t.job_id = ANY($1::uuid[]) AND j.id = ANY($1::uuid[])
ORDER BY t.job_id, array_position(j.target_languages, t.language), t.language
