-- The jobs in flight (with an open task) across tenants: how many are
-- queued ($1) and running ($2), on every row, and the $3 newest of them,
-- with their tasks' mean progress (0 to 100). With none in flight, one row
-- of counts and no job (id NULL).
WITH counts AS (
    SELECT count(*) FILTER (WHERE status = $1) AS queued,
           count(*) FILTER (WHERE status = $2) AS running
    FROM jobs WHERE tasks_open > 0
)
SELECT c.queued, c.running, p.id, p.tenant, p.kind, p.status, p.target_languages, p.created_at,
       p.progress
FROM counts c
LEFT JOIN LATERAL (
    SELECT j.id, n.name AS tenant, j.kind, j.status, j.target_languages, j.created_at,
           coalesce((SELECT 100 * avg(t.progress) FROM tasks t WHERE t.job_id = j.id), 0)::float8
               AS progress
    FROM jobs j JOIN tenants n ON n.id = j.tenant_id
    WHERE j.tasks_open > 0
    ORDER BY j.created_at DESC, j.id DESC
    LIMIT $3
) p ON true
ORDER BY p.created_at DESC, p.id DESC
