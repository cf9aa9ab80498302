-- Claims language $2's post of job $1 just before it is sent; nothing when
-- another attempt claimed it first.
INSERT INTO social_posts (job_id, language, vendor, status, channels)
VALUES ($1, $2, $3, 'posting', $4)
ON CONFLICT (job_id, language) DO NOTHING
