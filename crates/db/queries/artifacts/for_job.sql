-- The artifacts of a job (workers read their inputs through this).
SELECT id, job_id, language, stage, kind, object_key, file_name, content_type, size_bytes,
       engine, created_at, expires_at
FROM artifacts WHERE job_id = $1
ORDER BY language, created_at, kind
