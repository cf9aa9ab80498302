-- Artifacts whose time is up, for the janitor to delete.
SELECT id, job_id, language, stage, kind, object_key, file_name, content_type, size_bytes,
       engine, created_at, expires_at
FROM artifacts WHERE expires_at < now() LIMIT $1
