-- Up to $2 drafts older than $1 hours that never became jobs, oldest first,
-- for the janitor.
SELECT job_id, tenant_id, languages, voice_upload_id, voice_file_name, background_upload_id,
       background_file_name, created_at
FROM job_drafts d
WHERE created_at < now() - $1::float8 * interval '1 hour'
  AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = d.job_id)
ORDER BY created_at LIMIT $2
