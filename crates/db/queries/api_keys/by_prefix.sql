-- The unrevoked keys with the public prefixes $1, with their tenants and
-- secrets' hashes.
SELECT id, tenant_id, prefix, secret_hash FROM api_keys
WHERE prefix = ANY($1::text[]) AND revoked_at IS NULL
