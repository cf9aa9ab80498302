-- Records a new key of a tenant: its public prefix and the SHA-256 of its secret.
INSERT INTO api_keys (id, tenant_id, name, prefix, secret_hash)
VALUES ($1, $2, $3, $4, $5)
