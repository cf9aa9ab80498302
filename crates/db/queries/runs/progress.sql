-- A held run's progress within its stage ($5, 0 to 1) with a message for
-- people, fenced by the lease: the tasks it serves say it, and an event
-- tells it. Answers nothing when the lease is gone.
--
-- It changes nothing a job's views show but the tasks' progress, message
-- and time of change, and its event is the only one of its kind: readers
-- holding a job's snapshot move it forward by those three alone
-- (`snapshots/read.sql`). A change to anything else here needs an event of
-- another kind.
WITH held AS (
    SELECT r.id, r.job_id, r.language, r.stage FROM stage_runs r
    WHERE r.id = $1 AND r.attempt = $2 AND r.lease_owner = $3 AND r.status = $4
),
moved AS (
    UPDATE tasks t
    SET message = $6, updated_at = now(),
        progress = (array_position(t.stages, h.stage) - 1 + $5::float8) / cardinality(t.stages)
    FROM held h
    WHERE t.job_id = h.job_id AND t.status = $7
      AND (h.stage = ANY($8::stage[]) OR t.language = h.language)
),
event AS (
    INSERT INTO job_events (job_id, kind, language, stage, data)
    SELECT job_id, $9, language, stage::text, jsonb_build_object('fraction', $5::float8, 'message', $6::text)
    FROM held
)
SELECT id FROM held
