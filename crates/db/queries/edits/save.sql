-- Keeps a task's edits (every edit so far, merged by the caller).
UPDATE tasks SET segment_edits = $3::jsonb WHERE job_id = $1 AND language = $2
