-- Records a draft: the job id and upload ids promised before the files come.
INSERT INTO job_drafts (job_id, tenant_id, languages, voice_upload_id, voice_file_name,
                        background_upload_id, background_file_name)
VALUES ($1, $2, $3, $4, $5, $6, $7)
