-- Applies the outcomes of stage runs (successes, failures, releases, expired
-- leases), a batch at once, in one statement: `$1` is the plan the runner
-- or the janitor made (voxline-db's `plan` module writes it; voxline-core's
-- state machine decided it). Each run's part happens only if its fence holds:
-- the run is still held by that owner, with that attempt, in a state the
-- event applies to. Everything else of the run's plan joins `fenced`, so a
-- run whose lease is gone changes nothing at all.
--
-- Lock order (docs/state-machine.md): runs, then tasks, then jobs. Each
-- step below reads the one before it, which makes PostgreSQL take them in
-- that order; jobs are locked in id order.
WITH
runs_in AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb->'runs') AS x(
        idx int, id uuid, attempt int, owner text, status run_status, final boolean, commit boolean,
        failed int, lost int, error_code text, error_message text, delay_ms float8,
        output jsonb, engine text)
),
fenced AS (
    UPDATE stage_runs r
    SET status = i.status,
        lease_owner = NULL,
        failures = r.failures + i.failed,
        lost_leases = r.lost_leases + i.lost,
        error_code = CASE WHEN i.commit THEN NULL ELSE coalesce(i.error_code, r.error_code) END,
        error_message = CASE WHEN i.commit THEN NULL ELSE coalesce(i.error_message, r.error_message) END,
        run_after = CASE WHEN i.delay_ms IS NULL THEN r.run_after
                         ELSE now() + i.delay_ms * interval '1 millisecond' END,
        finished_at = CASE WHEN i.final THEN now() END,
        output = coalesce(i.output, r.output),
        engine = coalesce(i.engine, r.engine)
    FROM runs_in i
    -- `= ANY(...)` as well as the join: PostgreSQL then finds the runs by
    -- their key rather than scanning the table for a batch it cannot size.
    WHERE r.id = ANY(ARRAY(SELECT id FROM runs_in)) AND r.id = i.id
      AND r.attempt = i.attempt AND r.lease_owner = i.owner
      AND r.status = ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb->'from'))::run_status[])
    RETURNING r.id, r.job_id, r.language, r.stage, r.attempt, i.idx, i.commit, i.owner
),
commits AS (
    -- The primary key makes a second commit of one run impossible, whatever the bug.
    INSERT INTO stage_commits (stage_run_id, attempt, worker)
    SELECT id, attempt, owner FROM fenced WHERE commit
),
tasks_in AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb->'tasks') AS x(
        idx int, id uuid, status task_status, stage stage, progress float8, message text,
        stats jsonb, error_code text, error_message text, final boolean,
        open int, failed int, cancelled int, release boolean, charge boolean)
),
tasks_moved AS (
    UPDATE tasks t
    SET status = i.status, stage = i.stage, progress = i.progress, message = i.message,
        stats = coalesce(i.stats, t.stats),
        error_code = i.error_code, error_message = i.error_message,
        finished_at = CASE WHEN i.final THEN now() END,
        updated_at = now()
    FROM tasks_in i JOIN fenced f ON f.idx = i.idx
    WHERE t.id = i.id
      AND t.status = ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb->'task_from'))::task_status[])
    RETURNING t.id, t.job_id, t.credits, t.credit_round, i.open, i.failed, i.cancelled, i.release, i.charge
),
job_counts AS (
    SELECT job_id, sum(open)::int AS open, sum(failed)::int AS failed, sum(cancelled)::int AS cancelled
    FROM tasks_moved GROUP BY job_id
    HAVING sum(abs(open)) + sum(abs(failed)) + sum(abs(cancelled)) > 0
),
jobs_moved AS (
    UPDATE jobs j
    SET tasks_open = j.tasks_open + d.open,
        tasks_failed = j.tasks_failed + d.failed,
        tasks_cancelled = j.tasks_cancelled + d.cancelled,
        finished_at = CASE WHEN j.tasks_open + d.open = 0 THEN now() END,
        updated_at = now()
    FROM (SELECT * FROM job_counts ORDER BY job_id) d
    WHERE j.id = d.job_id
    RETURNING j.id, j.tenant_id, j.status, j.tasks_open = 0 AS ended
),
next_in AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb->'next') AS x(
        idx int, id uuid, language text, stage stage, held_until timestamptz, max_attempts int)
),
scheduled AS (
    INSERT INTO stage_runs (id, job_id, language, stage, status, max_attempts, run_after)
    SELECT n.id, f.job_id, n.language, n.stage, ($1::jsonb->>'next_status')::run_status, n.max_attempts,
           coalesce(n.held_until, now())
    FROM next_in n JOIN fenced f ON f.idx = n.idx
    ON CONFLICT (job_id, language, stage) DO NOTHING
    RETURNING id
),
events AS (
    INSERT INTO job_events (job_id, kind, language, stage, data)
    SELECT f.job_id, e.kind, e.language, e.stage, e.data
    FROM jsonb_to_recordset($1::jsonb->'events') AS e(idx int, kind event_kind, language text, stage text, data jsonb)
    JOIN fenced f ON f.idx = e.idx
    UNION ALL
    SELECT m.id, x.kind, NULL, NULL, '{}'::jsonb
    FROM jobs_moved m JOIN jsonb_to_recordset($1::jsonb->'ended') AS x(status job_status, kind event_kind)
      ON x.status = m.status
    WHERE m.ended
),
artifacts_in AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb->'artifacts') AS x(
        idx int, language text, stage text, kind text, object_key text, file_name text,
        content_type text, size_bytes bigint, engine text, expires_at timestamptz)
),
stored AS (
    INSERT INTO artifacts (id, job_id, language, stage, kind, object_key, file_name,
                           content_type, size_bytes, engine, expires_at)
    SELECT gen_random_uuid(), f.job_id, a.language, a.stage, a.kind, a.object_key, a.file_name,
           a.content_type, a.size_bytes, a.engine, a.expires_at
    FROM artifacts_in a JOIN fenced f ON f.idx = a.idx
    ON CONFLICT (job_id, language, kind) DO UPDATE
    SET object_key = EXCLUDED.object_key, file_name = EXCLUDED.file_name,
        content_type = EXCLUDED.content_type, size_bytes = EXCLUDED.size_bytes,
        engine = EXCLUDED.engine, stage = EXCLUDED.stage, created_at = now(),
        -- A file held for a later publishing time keeps that lifetime.
        expires_at = greatest(artifacts.expires_at, EXCLUDED.expires_at)
),
kept AS (
    -- Files an earlier stage wrote outlive a scheduled publish: each keeps
    -- its lifetime, counted from the publishing time. (This run's own files
    -- already carry it, and are left to `stored`.)
    UPDATE artifacts a
    SET expires_at = greatest(a.expires_at, k.until + (a.expires_at - a.created_at))
    FROM jsonb_to_recordset($1::jsonb->'keep') AS k(idx int, language text, until timestamptz)
    JOIN fenced f ON f.idx = k.idx
    WHERE a.job_id = f.job_id AND a.language = k.language
      AND NOT EXISTS (SELECT 1 FROM artifacts_in n WHERE n.idx = k.idx
                      AND n.language = a.language AND n.kind = a.kind)
),
usage AS (
    INSERT INTO usage_records (job_id, tenant_id, stage_run_id, attempt, engine, unit, units,
                               latency_ms, language, stage, cost_usd, calls, ok, error)
    SELECT f.job_id, j.tenant_id, f.id, f.attempt, u.engine, u.unit, u.units, u.latency_ms,
           f.language, f.stage::text, u.cost_usd, u.calls, u.ok, u.error
    FROM jsonb_to_recordset($1::jsonb->'usage') AS u(
        idx int, engine text, unit text, units float8, latency_ms bigint, cost_usd float8,
        calls int, ok boolean, error text)
    JOIN fenced f ON f.idx = u.idx
    JOIN jobs j ON j.id = f.job_id
    ON CONFLICT (stage_run_id, attempt, engine, unit, ok) DO NOTHING
),
credits AS (
    -- A task that ended gives back its reservation of this round, and is
    -- charged its price if it completed (the plan says which).
    INSERT INTO credit_entries (tenant_id, job_id, task_id, kind, round, amount)
    SELECT j.tenant_id, t.job_id, t.id, c.kind, c.round, c.amount
    FROM tasks_moved t
    JOIN jobs j ON j.id = t.job_id
    CROSS JOIN LATERAL (VALUES
        ('release', t.credit_round, t.credits, t.release),
        ('charge', 0, -t.credits, t.charge)) AS c(kind, round, amount, wanted)
    WHERE t.credits IS NOT NULL AND c.wanted
      AND (c.kind = 'charge' OR EXISTS (
          SELECT 1 FROM credit_entries r WHERE r.task_id = t.id
          AND r.kind = 'reserve' AND r.round = t.credit_round))
    ON CONFLICT (task_id, kind, round) DO NOTHING
)
SELECT f.idx, s.id AS scheduled
FROM fenced f
LEFT JOIN next_in n ON n.idx = f.idx
LEFT JOIN scheduled s ON s.id = n.id
ORDER BY f.idx
