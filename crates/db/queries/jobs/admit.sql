-- Before a job is made in a transaction holding the tenant's creation lock:
-- how many of the tenant's jobs are in flight, the tenant's priority
-- allowance, and the job an earlier request with the same idempotency key
-- made (with that request's digest), if any.
SELECT (SELECT count(*) FROM jobs WHERE tenant_id = $1 AND tasks_open > 0) AS in_flight,
       (SELECT max_priority FROM tenants WHERE id = $1) AS max_priority,
       (SELECT id FROM jobs WHERE tenant_id = $1 AND idempotency_key = $2) AS earlier
