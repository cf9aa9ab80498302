-- The first of the three locks a change made outside the workers takes
-- (runs, tasks, then the job: the order every statement of the workers
-- takes them in). Answers what a plan needs of each run.
SELECT r.id, r.language, r.stage, r.status
FROM stage_runs r WHERE r.job_id = $1 ORDER BY r.id FOR UPDATE
