-- Moves the job's tasks listed in $2 to state $3 with message $4, as a
-- change made outside the workers does; $5: whether the state is final;
-- $6: whether the task's credit round starts anew (a retry); $7, $8: the
-- stage and progress it resumes from (null: as they are).
UPDATE tasks
SET status = $3, message = $4, updated_at = now(),
    finished_at = CASE WHEN $5 THEN now() END,
    error_code = CASE WHEN $5 THEN error_code END,
    error_message = CASE WHEN $5 THEN error_message END,
    credit_round = credit_round + CASE WHEN $6 THEN 1 ELSE 0 END,
    stage = coalesce($7, stage),
    progress = coalesce($8, progress)
WHERE job_id = $1 AND id = ANY($2)
