-- Records what the vendor answered to language $2's post of job $1.
UPDATE social_posts SET status = 'posted', posts = $3, posted_at = now()
WHERE job_id = $1 AND language = $2
