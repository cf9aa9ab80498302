-- Forgets an artifact whose object was deleted (its lifetime ran out);
-- event $2 tells the job's readers.
WITH forgotten AS (
    DELETE FROM artifacts WHERE id = $1
    RETURNING job_id, language, stage, kind, file_name
)
INSERT INTO job_events (job_id, kind, language, stage, data)
SELECT job_id, $2, language, stage,
       jsonb_build_object('reason', 'expired', 'kind', kind, 'file_name', file_name)
FROM forgotten
