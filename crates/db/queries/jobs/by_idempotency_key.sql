-- The job an earlier request with this idempotency key made, with the digest of that request.
SELECT id, tenant_id, kind, status, source_upload_id, background_upload_id, source_language,
       target_languages, options, publish, duration_s, priority, traceparent, created_at,
       updated_at, started_at, finished_at, request_hash
FROM jobs WHERE tenant_id = $1 AND idempotency_key = $2
