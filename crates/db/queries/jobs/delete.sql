-- Deletes a job (its tasks, runs, events and artifacts rows go with it),
-- the uploads $2 no other job uses, and a draft of it.
WITH gone AS (DELETE FROM jobs WHERE id = $1 RETURNING id),
uploads AS (
    DELETE FROM uploads u WHERE u.id = ANY($2) AND EXISTS (SELECT 1 FROM gone)
      AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id <> $1
                      AND (j.source_upload_id = u.id OR j.background_upload_id = u.id))
)
DELETE FROM job_drafts WHERE job_id = $1
