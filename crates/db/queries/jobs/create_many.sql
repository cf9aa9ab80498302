-- Records jobs (the document's `jobs`), their scripts where they were
-- given one, their tasks (`tasks`, one per language), their first stage
-- runs (`runs`) and their `job_created` events, in one statement. A job whose idempotency key its tenant already
-- used inserts nothing and answers no row: the caller then reads the first
-- job. `task_status`, `run_status` and `event` are the states and the event
-- kind a new job starts with.
WITH
jobs_in AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb->'jobs') AS x(
        id uuid, tenant_id uuid, kind job_kind, source_upload_id uuid, background_upload_id uuid,
        source_language text, target_languages text[], options jsonb, publish boolean,
        idempotency_key text, request_hash text, duration_s float8, traceparent text,
        priority priority, tasks int, script jsonb)
),
made AS (
    INSERT INTO jobs (id, tenant_id, kind, source_upload_id, background_upload_id, source_language,
                      target_languages, options, publish, idempotency_key, request_hash,
                      duration_s, traceparent, priority, tasks_open)
    SELECT id, tenant_id, kind, source_upload_id, background_upload_id, source_language,
           target_languages, options, publish, idempotency_key, request_hash,
           duration_s, traceparent, priority, tasks
    FROM jobs_in ORDER BY id
    ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
    RETURNING *
),
scripts AS (
    INSERT INTO job_scripts (job_id, format, segments)
    SELECT j.id, j.script->>'format', j.script->'segments'
    FROM jobs_in j JOIN made ON made.id = j.id
    WHERE jsonb_typeof(j.script) = 'object'
),
tasks AS (
    INSERT INTO tasks (id, job_id, language, status, stage, stages, message, credits)
    SELECT t.id, t.job_id, t.language, ($1::jsonb->>'task_status')::task_status, t.stages[1],
           t.stages, t.message, t.credits
    FROM jsonb_to_recordset($1::jsonb->'tasks') AS t(
        id uuid, job_id uuid, language text, stages stage[], message text, credits bigint)
    JOIN made ON made.id = t.job_id
),
runs AS (
    INSERT INTO stage_runs (id, job_id, language, stage, status, max_attempts)
    SELECT r.id, r.job_id, r.language, r.stage, ($1::jsonb->>'run_status')::run_status, r.max_attempts
    FROM jsonb_to_recordset($1::jsonb->'runs') AS r(
        id uuid, job_id uuid, language text, stage stage, max_attempts int)
    JOIN made ON made.id = r.job_id
),
events AS (
    INSERT INTO job_events (job_id, kind) SELECT id, ($1::jsonb->>'event')::event_kind FROM made
)
SELECT id, tenant_id, kind, status, source_upload_id, background_upload_id, source_language,
       target_languages, options, publish, duration_s, priority, traceparent, created_at,
       updated_at, started_at, finished_at
FROM made
