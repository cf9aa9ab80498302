-- Records clone $5 of speaker $4 of job $1 (tenant $2) at engine $3; a live
-- clone already recorded for them wins, and is returned.
WITH added AS (
    INSERT INTO cloned_voices (job_id, tenant_id, engine, speaker, voice_id)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (job_id, engine, speaker) WHERE deleted_at IS NULL DO NOTHING
    RETURNING voice_id
)
SELECT voice_id FROM added
UNION ALL
SELECT voice_id FROM cloned_voices
WHERE job_id = $1 AND engine = $3 AND speaker = $4 AND deleted_at IS NULL
LIMIT 1
