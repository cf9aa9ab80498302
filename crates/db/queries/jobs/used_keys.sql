-- Which of the (tenant $1[i], idempotency key $2[i]) pairs earlier jobs
-- used: those requests are answered the first job, whatever the limits.
SELECT j.tenant_id, j.idempotency_key
FROM jobs j
JOIN unnest($1::uuid[], $2::text[]) AS k(tenant_id, idempotency_key)
  ON j.tenant_id = k.tenant_id AND j.idempotency_key = k.idempotency_key
