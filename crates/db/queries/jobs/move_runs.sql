-- Moves the job's runs listed in $2 to state $3 (a change made outside the
-- workers: cancel, retry, an edit's re-run), releasing their leases and
-- clearing what the state leaves behind. $4: whether the new state is final.
-- $5: whether a run's failure and loss counts and its error start afresh.
UPDATE stage_runs
SET status = $3, lease_owner = NULL,
    finished_at = CASE WHEN $4 THEN now() END,
    run_after = CASE WHEN $4 THEN run_after ELSE now() END,
    failures = CASE WHEN $5 THEN 0 ELSE failures END,
    lost_leases = CASE WHEN $5 THEN 0 ELSE lost_leases END,
    error_code = CASE WHEN $5 THEN NULL ELSE error_code END,
    error_message = CASE WHEN $5 THEN NULL ELSE error_message END
WHERE job_id = $1 AND id = ANY($2)
RETURNING id, stage, attempt
