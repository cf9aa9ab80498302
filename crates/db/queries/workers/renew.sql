-- Renews worker $1's lease by $2 seconds (one write, whatever it runs) and
-- answers which of the runs it believes it holds ($3 ids, $4 attempts) it
-- no longer does: cancelled, or taken over. With the worker's row gone
-- (the janitor found its lease run out), every one of them is lost.
WITH renewed AS (
    UPDATE workers SET lease_expires_at = now() + $2::float8 * interval '1 second'
    WHERE id = $1 RETURNING id
)
SELECT h.id AS lost
FROM unnest($3::uuid[], $4::int[]) AS h(id, attempt)
WHERE NOT EXISTS (
    SELECT 1 FROM stage_runs r, renewed w
    WHERE r.id = h.id AND r.attempt = h.attempt AND r.lease_owner = w.id AND r.status = $5)
UNION ALL
SELECT NULL FROM (SELECT 1) one WHERE NOT EXISTS (SELECT 1 FROM renewed)
