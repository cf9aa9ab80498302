-- A tenant's job about to be deleted: its state and uploads.
SELECT status, source_upload_id, background_upload_id FROM jobs
WHERE id = $1 AND tenant_id = $2 FOR UPDATE
