-- Forgets upload $1 of tenant $2 unless a job uses it; answers whether one
-- does. (A job made meanwhile holds it by its foreign key.)
WITH used AS (
    SELECT EXISTS (SELECT 1 FROM jobs WHERE source_upload_id = $1 OR background_upload_id = $1)
        AS used
),
gone AS (
    DELETE FROM uploads WHERE id = $1 AND tenant_id = $2 AND NOT (SELECT used FROM used)
)
SELECT used FROM used
