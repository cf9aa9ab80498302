-- The newest event of each of the jobs $1 (those with any), by the
-- (job_id, id) index: one probe per job.
SELECT j.job_id, (SELECT max(e.id) FROM job_events e WHERE e.job_id = j.job_id) AS latest
FROM unnest($1::uuid[]) AS j(job_id)
