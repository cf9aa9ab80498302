-- Tells the job's watchers something happened.
INSERT INTO job_events (job_id, kind, language, stage, data) VALUES ($1, $2, $3, $4, $5)
