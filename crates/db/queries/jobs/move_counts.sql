-- Moves a job's task counts by a delta (its status follows from them) and
-- records the job's end when no task is left open. Answers the status and
-- whether this change ended the job.
UPDATE jobs
SET tasks_open = tasks_open + $2, tasks_failed = tasks_failed + $3,
    tasks_cancelled = tasks_cancelled + $4, updated_at = now(),
    finished_at = CASE WHEN tasks_open + $2 = 0 THEN coalesce(finished_at, now()) END
WHERE id = $1
RETURNING status, tasks_open = 0 AND $2 < 0 AS ended
