-- Marks language $2's post of job $1 `unconfirmed` when it has been
-- `posting` for over $3 seconds (its answer was lost), answering since when.
-- One statement decides and marks, so two attempts looking at once cannot
-- both see it lapse.
UPDATE social_posts SET status = 'unconfirmed'
WHERE job_id = $1 AND language = $2 AND status = 'posting'
  AND started_at < now() - $3::float8 * interval '1 second'
RETURNING started_at
