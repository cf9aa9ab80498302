-- A tenant's keys, newest first, revoked ones included (never their secret).
SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_keys
WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC
