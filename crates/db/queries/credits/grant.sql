-- An administrator's grant.
INSERT INTO credit_entries (tenant_id, kind, amount, note) VALUES ($1, 'grant', $2, $3)
