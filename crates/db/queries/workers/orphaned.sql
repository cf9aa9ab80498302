-- Runs held by a worker whose lease ran out (or, when $5, by one with no
-- row at all: it never announced itself, or left without handing them
-- back): one row per (run, open task it serves), as a claim answers them,
-- for the janitor to queue again or fail.
--
-- No index names `lease_owner` (a claim rewrites its run in place), so
-- finding these scans every open run. Without $5 the scan is made only
-- while some worker's lease has run out: a worker's row stays until it
-- holds nothing (workers/forget_dead.sql), so its runs are always found,
-- and a pass over a healthy fleet reads the small workers table alone.
WITH orphans AS (
    SELECT r.id, r.job_id, r.language, r.stage, r.attempt, r.failures, r.max_attempts,
           r.lost_leases, r.lease_owner, row_number() OVER (ORDER BY r.id) AS idx
    FROM stage_runs r
    WHERE r.finished_at IS NULL AND r.status = $1
      AND ($5 OR EXISTS (SELECT 1 FROM workers d WHERE d.lease_expires_at <= now()))
      AND NOT EXISTS (SELECT 1 FROM workers w WHERE w.id = r.lease_owner AND w.lease_expires_at > now())
    ORDER BY r.id LIMIT $2
)
SELECT o.idx, o.id AS run_id, o.language, o.stage, o.attempt, o.failures, o.max_attempts,
       o.lost_leases, o.lease_owner, '' AS earlier_span,
       j.id, j.tenant_id, j.kind, j.status, j.source_upload_id, j.background_upload_id,
       j.source_language, j.target_languages, j.options, j.publish, j.duration_s, j.priority,
       j.traceparent, j.created_at, j.updated_at, j.started_at, j.finished_at,
       t.id AS task_id, t.language AS task_language, t.stages AS task_stages, t.status AS task_status
FROM orphans o
JOIN jobs j ON j.id = o.job_id
LEFT JOIN tasks t ON t.job_id = o.job_id AND t.status = ANY($3::task_status[])
     AND (o.stage = ANY($4::stage[]) OR t.language = o.language)
ORDER BY o.idx, t.language
