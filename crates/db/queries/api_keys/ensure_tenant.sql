-- The tenant named $2, made (with id $1) on first sight. Writes only when
-- it is new: every JWT-authenticated request passes here.
WITH found AS (SELECT id FROM tenants WHERE name = $2),
made AS (
    INSERT INTO tenants (id, name)
    SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM found)
    -- Made by a concurrent request meanwhile: answer theirs.
    ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
    RETURNING id
)
SELECT id FROM found
UNION ALL
SELECT id FROM made
