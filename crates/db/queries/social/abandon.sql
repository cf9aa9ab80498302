-- Forgets a claim whose post certainly did not happen, so a retry may post.
DELETE FROM social_posts WHERE job_id = $1 AND language = $2 AND status = 'posting'
