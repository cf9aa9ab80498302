-- A job, whoever's it is (the system acts on ids it made).
SELECT id, tenant_id, kind, status, source_upload_id, background_upload_id, source_language,
       target_languages, options, publish, duration_s, priority, traceparent, created_at,
       updated_at, started_at, finished_at
FROM jobs WHERE id = $1
