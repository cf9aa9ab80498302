-- The third lock: the job itself, of tenant $2 (any tenant when $2 is null).
SELECT id, tenant_id, kind, status, source_upload_id, background_upload_id, source_language,
       target_languages, options, publish, duration_s, priority, traceparent, created_at,
       updated_at, started_at, finished_at
FROM jobs WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2) FOR UPDATE
