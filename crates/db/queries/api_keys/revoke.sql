-- Revokes key $1 of tenant $2 (revoking twice keeps the first time);
-- answers its prefix.
UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
WHERE id = $1 AND tenant_id = $2
RETURNING prefix
