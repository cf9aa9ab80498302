-- Forgets drafts whose job was made (left behind when their deletion failed
-- after the job's creation).
DELETE FROM job_drafts d WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.id = d.job_id)
