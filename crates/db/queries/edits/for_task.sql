-- The segment edits of (job, language).
SELECT segment_edits FROM tasks WHERE job_id = $1 AND language = $2
