-- A job of tenant $2 (another tenant's job is not found).
SELECT id, tenant_id, kind, status, source_upload_id, background_upload_id, source_language,
       target_languages, options, publish, duration_s, priority, traceparent, created_at,
       updated_at, started_at, finished_at
FROM jobs WHERE id = $1 AND tenant_id = $2
