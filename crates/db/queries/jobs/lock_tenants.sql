-- One batch of creations at a time per tenant (in tenant order, so two
-- batches never wait on each other in a circle): the in-flight limit and
-- the idempotency check then hold under concurrent requests.
SELECT pg_advisory_xact_lock(hashtextextended(t::text, 7262))
FROM (SELECT DISTINCT unnest($1::uuid[]) AS t ORDER BY 1) tenants
