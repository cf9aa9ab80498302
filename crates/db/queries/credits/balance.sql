-- A tenant's credits: available (granted, less charged, less reserved) and reserved.
SELECT coalesce(sum(amount), 0)::bigint AS available,
       coalesce(-sum(amount) FILTER (WHERE kind IN ('reserve', 'release')), 0)::bigint AS reserved
FROM credit_entries WHERE tenant_id = $1
