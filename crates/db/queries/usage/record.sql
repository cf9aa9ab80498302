-- The usage of an attempt that ended without an outcome of its own (its
-- lease was lost, or it was handed back): the calls were made all the same.
-- Unfenced, since rows are keyed by the attempt. Event $8 tells readers the
-- job's usage grew.
WITH recorded AS (
    INSERT INTO usage_records (job_id, tenant_id, stage_run_id, attempt, engine, unit, units,
                               latency_ms, language, stage, cost_usd, calls, ok, error)
    SELECT $1, $2, $3, $4, u.engine, u.unit, u.units, u.latency_ms, $5, $6, u.cost_usd, u.calls,
           u.ok, u.error
    FROM jsonb_to_recordset($7) AS u(engine text, unit text, units float8, latency_ms bigint,
                                     cost_usd float8, calls int, ok boolean, error text)
    ON CONFLICT (stage_run_id, attempt, engine, unit, ok) DO NOTHING
    RETURNING 1
)
INSERT INTO job_events (job_id, kind, language, stage, data)
SELECT $1, $8, $5, $6, jsonb_build_object('attempt', $4::int)
WHERE EXISTS (SELECT FROM recorded)
