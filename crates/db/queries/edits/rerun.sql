-- The run an edit re-runs, queued again ($3) with its counts afresh. Its
-- earlier commit guarded that attempt; the next claim's (a higher fencing
-- token) commits the re-run, so the earlier commit's record goes.
WITH rerun AS (
    UPDATE stage_runs
    SET status = $3, failures = 0, lost_leases = 0, error_code = NULL, error_message = NULL,
        run_after = now(), finished_at = NULL
    WHERE id = $1 AND status = ANY($2::run_status[])
    RETURNING id, attempt
),
forgotten AS (DELETE FROM stage_commits c USING rerun r WHERE c.stage_run_id = r.id)
SELECT id, attempt FROM rerun
