-- The delivery attempts of job $1 of tenant $2, oldest first. The job's row
-- comes with no attempt (delivery_id NULL) when it has none, and no row at
-- all when the job is not the tenant's.
SELECT j.id AS job_id, d.id AS delivery_id, d.language, d.event_id, d.url, d.attempt,
       d.status_code, d.error, d.duration_ms, d.at
FROM jobs j LEFT JOIN webhook_deliveries d ON d.job_id = j.id
WHERE j.id = $1 AND j.tenant_id = $2
ORDER BY d.id
