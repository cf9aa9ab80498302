-- Events of a job after id $2, oldest first.
SELECT id, at, kind, language, stage, data FROM job_events
WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3
