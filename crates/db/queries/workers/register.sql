-- A worker process announces itself with a lease of $5 seconds.
INSERT INTO workers (id, stage, host, pid, lease_expires_at)
VALUES ($1, $2, $3, $4, now() + $5::float8 * interval '1 second')
ON CONFLICT (id) DO UPDATE SET lease_expires_at = EXCLUDED.lease_expires_at
