-- Jobs ended in state $3 (cancelled) whose files are not deleted yet,
-- ended more than $1 seconds ago.
SELECT id FROM jobs
WHERE status = $3 AND tasks_cancelled > 0 AND cleaned_at IS NULL
  AND finished_at < now() - $1::float8 * interval '1 second'
ORDER BY finished_at LIMIT $2
