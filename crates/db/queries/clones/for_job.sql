-- The live clones of job $1.
SELECT id, job_id, engine, speaker, voice_id, created_at, deleted_at
FROM cloned_voices
WHERE job_id = $1 AND deleted_at IS NULL
ORDER BY speaker, engine
