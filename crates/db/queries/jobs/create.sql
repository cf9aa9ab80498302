-- Records a job, its tasks (one per language, `$15`..), its first stage run
-- and its `job_created` event, in one statement. A repeated idempotency key
-- inserts nothing and answers no row: the caller then reads the first job.
WITH
job AS (
    INSERT INTO jobs (id, tenant_id, kind, source_upload_id, background_upload_id, source_language,
                      target_languages, options, publish, idempotency_key, request_hash,
                      duration_s, traceparent, priority, tasks_open)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, cardinality($15::uuid[]))
    ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
    RETURNING *
),
tasks AS (
    INSERT INTO tasks (id, job_id, language, status, stage, stages, message, credits)
    SELECT t.id, job.id, t.language, $18, ($17::stage[])[1], $17, $19, t.credits
    FROM job, unnest($15::uuid[], $16::text[], $20::bigint[]) AS t(id, language, credits)
),
run AS (
    INSERT INTO stage_runs (id, job_id, language, stage, status, max_attempts)
    SELECT $21, job.id, $22, $23, $24, $25 FROM job
),
event AS (
    INSERT INTO job_events (job_id, kind) SELECT id, $26 FROM job
)
SELECT id, tenant_id, kind, status, source_upload_id, background_upload_id, source_language,
       target_languages, options, publish, duration_s, priority, traceparent, created_at,
       updated_at, started_at, finished_at
FROM job
