-- A tenant's most recent entries, newest first.
SELECT id, job_id, task_id, kind, amount, note, created_at FROM credit_entries
WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2
