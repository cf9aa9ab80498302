-- The files of the jobs $1.
SELECT id, job_id, language, stage, kind, object_key, file_name, content_type, size_bytes,
       engine, created_at, expires_at
FROM artifacts WHERE job_id = ANY($1::uuid[])
ORDER BY job_id, language, created_at, kind
