-- The version of each job $1[i] of tenant $2[i] (another tenant's job, or
-- one gone, answers no row): how many events the job has had. Every change
-- a reader can see records an event in its own transaction, and events live
-- as long as their job, so the count moves with each committed change in
-- whatever order concurrent transactions commit (an event's id would not:
-- a lower id can commit after a higher one).
SELECT w.i, (SELECT count(*) FROM job_events e WHERE e.job_id = j.id) AS version
FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS w(id, tenant_id, i)
JOIN jobs j ON j.id = w.id AND j.tenant_id = w.tenant_id
WHERE j.id = ANY($1::uuid[])
