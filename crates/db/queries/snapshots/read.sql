-- Each job $1[i] of tenant $2[i] (another tenant's job, or one gone,
-- answers no row) with its version: the number of events it has had, and
-- the newest of them. Where the count is not $3[i], the count its reader
-- holds, the statement also answers what changed, as JSON:
--
-- * `{"progressed": [...]}`, each task's progress, message and time of
--   change, when every event since the reader's version (the newest it
--   holds being $4[i]) reports progress (kind $5): a progress report
--   changes nothing else a view shows (`runs/progress.sql`), so the reader
--   moves its snapshot forward with these alone;
-- * otherwise `{"whole": {...}}`, everything the job's views show.
--
-- One statement reads at one snapshot, so the version names exactly what
-- was read.
--
-- Why a count and not the newest event id: every change a reader can see
-- records an event in its own transaction, and events live as long as
-- their job, so the count moves with each committed change in whatever
-- order concurrent transactions commit; a lower event id can commit after
-- a higher one. The same holds for the events since the reader's version:
-- they are the newer ids only when their count makes up the whole
-- difference, and no late commit hides below the newest the reader holds.
--
-- Keys are the fields of the Rust structs they fill (`snapshots.rs`).
SELECT w.i, v.version, v.last_event,
       CASE WHEN v.version IS DISTINCT FROM w.known THEN CASE
       WHEN w.known IS NOT NULL AND (
         SELECT count(*) = v.version - w.known AND bool_and(e.kind = $5)
         FROM job_events e WHERE e.job_id = j.id AND e.id > w.last_event)
       THEN json_build_object('progressed', (
         SELECT json_agg(json_build_object(
                  'id', t.id, 'progress', t.progress, 'message', t.message,
                  'updated_at', t.updated_at))
         FROM tasks t WHERE t.job_id = j.id))
       ELSE json_build_object('whole', json_build_object(
         'job', json_build_object(
           'id', j.id, 'tenant_id', j.tenant_id, 'kind', j.kind, 'status', j.status,
           'source_upload_id', j.source_upload_id,
           'background_upload_id', j.background_upload_id,
           'source_language', j.source_language, 'target_languages', j.target_languages,
           'options', j.options, 'publish', j.publish, 'duration', j.duration_s,
           'priority', j.priority, 'traceparent', j.traceparent,
           'created_at', j.created_at, 'updated_at', j.updated_at,
           'started_at', j.started_at, 'finished_at', j.finished_at),
         -- In the order the client listed the languages.
         'tasks', COALESCE((
           SELECT json_agg(json_build_object(
                    'id', t.id, 'job_id', t.job_id, 'language', t.language,
                    'status', t.status, 'stage', t.stage, 'stages', t.stages,
                    'progress', t.progress, 'message', t.message,
                    'error_code', t.error_code, 'error_message', t.error_message,
                    'stats', t.stats, 'credits', t.credits,
                    'created_at', t.created_at, 'updated_at', t.updated_at,
                    'started_at', t.started_at, 'finished_at', t.finished_at)
                  ORDER BY array_position(j.target_languages, t.language), t.language)
           FROM tasks t WHERE t.job_id = j.id), '[]'),
         -- In creation order.
         'runs', COALESCE((
           SELECT json_agg(json_build_object(
                    'language', r.language, 'stage', r.stage, 'status', r.status,
                    'attempts', r.attempt, 'failures', r.failures, 'engine', r.engine,
                    'error_code', r.error_code, 'error_message', r.error_message,
                    'started_at', r.started_at, 'finished_at', r.finished_at)
                  ORDER BY r.created_at, r.language)
           FROM stage_runs r WHERE r.job_id = j.id), '[]'),
         'artifacts', COALESCE((
           SELECT json_agg(json_build_object(
                    'id', a.id, 'job_id', a.job_id, 'language', a.language,
                    'stage', a.stage, 'kind', a.kind, 'object_key', a.object_key,
                    'file_name', a.file_name, 'content_type', a.content_type,
                    'size_bytes', a.size_bytes, 'engine', a.engine,
                    'created_at', a.created_at, 'expires_at', a.expires_at)
                  ORDER BY a.language, a.created_at, a.kind)
           FROM artifacts a WHERE a.job_id = j.id), '[]'),
         -- Every engine call, in the order they were recorded.
         'usage', COALESCE((
           SELECT json_agg(json_build_object(
                    'calls', u.calls, 'stage', u.stage, 'language', u.language,
                    'engine', u.engine, 'unit', u.unit, 'units', u.units,
                    'cost_usd', u.cost_usd, 'latency_ms', u.latency_ms, 'ok', u.ok,
                    'error', u.error, 'created_at', u.created_at)
                  ORDER BY u.id)
           FROM usage_records u WHERE u.job_id = j.id), '[]')))
       END END AS change
FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::bigint[])
     WITH ORDINALITY AS w(id, tenant_id, known, last_event, i)
JOIN jobs j ON j.id = w.id AND j.tenant_id = w.tenant_id
CROSS JOIN LATERAL (
    SELECT count(*) AS version, max(e.id) AS last_event
    FROM job_events e WHERE e.job_id = j.id) v
WHERE j.id = ANY($1::uuid[])
