-- Before jobs are made in a transaction holding their tenants' creation
-- locks: for each tenant of $1, its jobs in flight and its priority
-- allowance.
SELECT t.id AS tenant_id,
       (SELECT count(*) FROM jobs j WHERE j.tenant_id = t.id AND j.tasks_open > 0) AS in_flight,
       t.max_priority
FROM tenants t WHERE t.id = ANY($1::uuid[])
