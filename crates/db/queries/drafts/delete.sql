-- Forgets the draft of a job.
DELETE FROM job_drafts WHERE job_id = $1
