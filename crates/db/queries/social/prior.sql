-- What earlier attempts left of language $2's post of job $1.
SELECT status, posts, channels, started_at FROM social_posts
WHERE job_id = $1 AND language = $2
