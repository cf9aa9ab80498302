-- The $1 most recently failed ($2) tasks of every tenant, newest first, with
-- their errors.
SELECT t.job_id, n.name AS tenant, j.kind, t.language, t.stage, t.error_code, t.error_message,
       coalesce(t.finished_at, t.updated_at) AS failed_at
FROM tasks t JOIN jobs j ON j.id = t.job_id JOIN tenants n ON n.id = j.tenant_id
WHERE t.status = $2
ORDER BY t.finished_at DESC, t.job_id, t.language
LIMIT $1
