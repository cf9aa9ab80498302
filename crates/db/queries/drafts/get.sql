-- The draft of job $1 of tenant $2 (another tenant's is not found).
SELECT job_id, tenant_id, languages, voice_upload_id, voice_file_name, background_upload_id,
       background_file_name, created_at
FROM job_drafts WHERE job_id = $1 AND tenant_id = $2
