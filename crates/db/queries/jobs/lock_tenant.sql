-- One creation at a time per tenant, so the in-flight limit, the credit
-- balance and the idempotency check hold under concurrent requests.
SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7262))
