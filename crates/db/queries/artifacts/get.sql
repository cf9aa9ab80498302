-- Artifact $1 of a job of tenant $2 (another tenant's is not found).
SELECT a.id, a.job_id, a.language, a.stage, a.kind, a.object_key, a.file_name,
       a.content_type, a.size_bytes, a.engine, a.created_at, a.expires_at
FROM artifacts a JOIN jobs j ON j.id = a.job_id
WHERE a.id = $1 AND j.tenant_id = $2
