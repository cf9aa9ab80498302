-- The unrevoked key with public prefix $1, with its tenant and secret's hash.
SELECT id, tenant_id, secret_hash FROM api_keys
WHERE prefix = $1 AND revoked_at IS NULL
