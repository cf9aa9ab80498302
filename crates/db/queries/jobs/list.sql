-- A page of a tenant's jobs, newest first, optionally of one status; $3, $4
-- is the (created_at, id) of the last job of the previous page.
SELECT id, tenant_id, kind, status, source_upload_id, background_upload_id, source_language,
       target_languages, options, publish, duration_s, priority, traceparent, created_at,
       updated_at, started_at, finished_at
FROM jobs
WHERE tenant_id = $1
  AND ($2::job_status IS NULL OR status = $2)
  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
ORDER BY created_at DESC, id DESC
LIMIT $5
