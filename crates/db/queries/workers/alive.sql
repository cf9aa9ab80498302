-- The workers of stage $1 whose lease is live.
SELECT id FROM workers WHERE stage = $1 AND lease_expires_at > now()
