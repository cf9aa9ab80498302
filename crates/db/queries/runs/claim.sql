-- Claims runs for worker `$3`, a batch at once: each becomes `running` with
-- its attempt (the fencing token) one higher, if it is still claimable
-- (`$4`), due, and its job has open tasks; the tasks it serves start
-- (`$6` to `$7`) and say what is being done (`$11`, one per stage of `$8`); a first
-- claim starts the job; an event tells each start. Answers one row per
-- (claimed run, task it serves), with what the stage needs of its job and
-- the previous attempt's span (for the new one to link to).
--
-- $1 run ids, $2 each attempt's traceparent, $3 worker, $4 run states a
-- claim applies to, $5 the state it leads to, $6 task states a start
-- applies to, $7 the state it leads to, $8 stages and $11 what a task
-- says while each runs, $9 the event kind, $10 the stages a job runs once
-- for all its tasks.
WITH
input AS (
    SELECT * FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS i(run_id, span, idx)
),
earlier AS (
    -- The same snapshot as the update below: the values before it.
    SELECT r.id, r.attempt_span FROM stage_runs r WHERE r.id IN (SELECT run_id FROM input)
),
claimed AS (
    UPDATE stage_runs r
    SET status = $5, attempt = r.attempt + 1, lease_owner = $3,
        started_at = coalesce(r.started_at, now()), attempt_span = i.span
    FROM input i, jobs j
    -- `= ANY($1)` as well as the join: PostgreSQL then finds the runs by
    -- their key rather than scanning the table for a batch it cannot size.
    WHERE r.id = ANY($1::uuid[]) AND r.id = i.run_id AND r.status = ANY($4::run_status[])
      AND r.run_after <= now() + interval '1 second'
      AND j.id = r.job_id AND j.tasks_open > 0
    RETURNING r.id, r.job_id, r.language, r.stage, r.attempt, r.failures, r.max_attempts,
              r.lost_leases, i.idx
),
started AS (
    UPDATE tasks t
    SET status = $7, stage = c.stage, updated_at = now(),
        message = coalesce((SELECT d.message FROM unnest($8::stage[], $11::text[]) AS d(stage, message)
                            WHERE d.stage = c.stage), t.message),
        started_at = coalesce(t.started_at, now())
    FROM claimed c
    WHERE t.job_id = c.job_id AND t.status = ANY($6::task_status[])
      AND (c.stage = ANY($10::stage[]) OR t.language = c.language)
    RETURNING c.idx, t.id, t.language, t.stages, t.status
),
job_started AS (
    UPDATE jobs j SET started_at = now(), updated_at = now()
    FROM (SELECT DISTINCT job_id FROM claimed ORDER BY job_id) c
    WHERE j.id = c.job_id AND j.started_at IS NULL
),
events AS (
    INSERT INTO job_events (job_id, kind, language, stage, data)
    SELECT job_id, $9, language, stage::text, jsonb_build_object('attempt', attempt) FROM claimed
)
SELECT c.idx, c.id AS run_id, c.language, c.stage, c.attempt, c.failures, c.max_attempts,
       c.lost_leases, e.attempt_span AS earlier_span,
       j.id, j.tenant_id, j.kind, j.status, j.source_upload_id, j.background_upload_id,
       j.source_language, j.target_languages, j.options, j.publish, j.duration_s, j.priority,
       j.traceparent, j.created_at, j.updated_at, j.started_at, j.finished_at,
       s.id AS task_id, s.language AS task_language, s.stages AS task_stages, s.status AS task_status
FROM claimed c
JOIN earlier e ON e.id = c.id
JOIN jobs j ON j.id = c.job_id
LEFT JOIN started s ON s.idx = c.idx
ORDER BY c.idx, s.language
