-- The jobs $1, as their readers see them.
SELECT id, tenant_id, kind, status, source_upload_id, background_upload_id, source_language,
       target_languages, options, publish, duration_s, priority, traceparent, created_at,
       updated_at, started_at, finished_at
FROM jobs WHERE id = ANY($1::uuid[])
