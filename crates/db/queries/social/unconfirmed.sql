-- Marks a sent post whose outcome is unknown, as told to the user.
UPDATE social_posts SET status = 'unconfirmed'
WHERE job_id = $1 AND language = $2 AND status = 'posting'
