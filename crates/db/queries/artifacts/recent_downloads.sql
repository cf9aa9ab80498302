-- Tenant $1's most recent artifacts of the kinds $2, newest first, each
-- with its job's title: the name of the file the job was made from.
SELECT a.id, a.job_id, a.language, a.stage, a.kind, a.object_key, a.file_name,
       a.content_type, a.size_bytes, a.engine, a.created_at, a.expires_at,
       COALESCE(u.file_name, 'Job') AS job_title
FROM artifacts a
JOIN jobs j ON j.id = a.job_id
LEFT JOIN uploads u ON u.id = j.source_upload_id
WHERE j.tenant_id = $1 AND a.kind = ANY($2::text[])
ORDER BY a.created_at DESC, a.id DESC LIMIT $3
