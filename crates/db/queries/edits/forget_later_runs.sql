-- Later stages run anew from a re-run's result: their old runs go (their
-- usage stays, detached).
DELETE FROM stage_runs WHERE job_id = $1 AND language = $2 AND stage = ANY($3)
