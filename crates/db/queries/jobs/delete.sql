-- Deletes a job (its tasks and artifacts go with it by their keys; its
-- runs and events, which have none, here), the uploads $2 no other job
-- uses, and a draft of it.
WITH runs AS (DELETE FROM stage_runs WHERE job_id = $1 RETURNING id),
commits AS (DELETE FROM stage_commits WHERE stage_run_id IN (SELECT id FROM runs)),
events AS (DELETE FROM job_events WHERE job_id = $1),
gone AS (DELETE FROM jobs WHERE id = $1 RETURNING id),
uploads AS (
    DELETE FROM uploads u WHERE u.id = ANY($2) AND EXISTS (SELECT 1 FROM gone)
      AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id <> $1
                      AND (j.source_upload_id = u.id OR j.background_upload_id = u.id))
)
DELETE FROM job_drafts WHERE job_id = $1
