-- Later stages run anew from a re-run's result: their old runs go (their
-- usage stays, detached), with the records of their commits.
WITH runs AS (
    DELETE FROM stage_runs WHERE job_id = $1 AND language = $2 AND stage = ANY($3) RETURNING id
)
DELETE FROM stage_commits WHERE stage_run_id IN (SELECT id FROM runs)
