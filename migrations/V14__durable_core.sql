-- The durable core, rebuilt (issue #14).
--
-- * Statuses, stages and event kinds are enums: a word no state machine
--   knows cannot be stored, and queries take them as typed parameters.
-- * A job's status follows from counts of its tasks that every task
--   transition moves in the same statement (job_status_of below; the Rust
--   rule, JobStatus::from_counts, is held equal to it by a test).
-- * Leases belong to worker processes: a run names its holder, and the
--   holder renews one row for everything it runs.
-- * The queued run is its own dispatch record: no outbox. The janitor
--   re-sends queued runs the queue does not hold.
-- * Invariants that lived in comments are constraints.

CREATE TYPE job_kind AS ENUM ('dub', 'subtitle', 'transcribe');
CREATE TYPE job_status AS ENUM ('queued', 'running', 'completed', 'failed', 'cancelled');
CREATE TYPE task_status AS ENUM ('pending', 'running', 'completed', 'failed', 'cancelled');
CREATE TYPE run_status AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');
CREATE TYPE stage AS ENUM ('transcribe', 'translate', 'synthesize', 'render', 'publish');
-- Declared from lowest to highest: enum order is priority order.
CREATE TYPE priority AS ENUM ('low', 'normal', 'high', 'urgent');
CREATE TYPE event_kind AS ENUM (
    'job_created', 'stage_started', 'stage_progress', 'stage_succeeded', 'stage_retrying',
    'stage_failed', 'task_completed', 'job_completed', 'job_failed', 'job_cancelled',
    'job_retried', 'segments_edited');

-- The indexes whose predicates name the old text statuses go first.
DROP INDEX stage_runs_due;
DROP INDEX stage_runs_leases;
DROP INDEX stage_runs_held;
DROP INDEX tasks_failed;
DROP INDEX jobs_tenant_in_flight;
DROP INDEX jobs_cancelled_uncleaned;
DROP TABLE outbox;

-- Runs ------------------------------------------------------------------
ALTER TABLE stage_runs
    ALTER COLUMN status TYPE run_status USING status::run_status,
    ALTER COLUMN stage TYPE stage USING stage::stage,
    DROP COLUMN lease_expires_at,
    DROP COLUMN last_dispatched_at;
UPDATE stage_runs SET lease_owner = NULL WHERE status <> 'running';
UPDATE stage_runs SET lease_owner = 'unknown' WHERE status = 'running' AND lease_owner IS NULL;
UPDATE stage_runs SET finished_at = coalesce(finished_at, now())
    WHERE status IN ('succeeded', 'failed', 'cancelled');
UPDATE stage_runs SET finished_at = NULL WHERE status IN ('queued', 'running');
ALTER TABLE stage_runs
    ADD CONSTRAINT stage_runs_held_iff_running CHECK ((status = 'running') = (lease_owner IS NOT NULL)),
    ADD CONSTRAINT stage_runs_finished_iff_final
        CHECK ((status IN ('succeeded', 'failed', 'cancelled')) = (finished_at IS NOT NULL)),
    ADD CONSTRAINT stage_runs_counts CHECK (attempt >= 0 AND failures >= 0 AND lost_leases >= 0);
-- What the janitor scans: the runs not finished (queued, held for a time,
-- or running). No index names `status` or `lease_owner`, so a claim
-- rewrites its run in place (HOT, with the room fillfactor leaves).
ALTER TABLE stage_runs SET (fillfactor = 70);
CREATE INDEX stage_runs_open ON stage_runs (run_after) WHERE finished_at IS NULL;

-- Tasks -----------------------------------------------------------------
ALTER TABLE tasks
    ALTER COLUMN status TYPE task_status USING status::task_status,
    ALTER COLUMN stage TYPE stage USING stage::stage,
    ALTER COLUMN stages TYPE stage[] USING stages::stage[];
ALTER TABLE tasks ADD CONSTRAINT tasks_progress CHECK (progress >= 0 AND progress <= 1);
-- Tasks are rewritten at every stage (their message and progress): room on
-- the page lets PostgreSQL update them in place (HOT) without touching indexes.
ALTER TABLE tasks SET (fillfactor = 70);
CREATE INDEX tasks_failed ON tasks (finished_at DESC) WHERE status = 'failed';

-- Jobs ------------------------------------------------------------------
-- The roll-up of a job's tasks, as the job row counts them. PL/pgSQL keeps
-- the function compiled in each session (a SQL function here would be
-- parsed again for every statement that writes a job).
CREATE FUNCTION job_status_of(open integer, failed integer, cancelled integer, started boolean)
RETURNS job_status LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN CASE
        WHEN open > 0 THEN CASE WHEN started THEN 'running' ELSE 'queued' END
        WHEN failed > 0 THEN 'failed'
        WHEN cancelled > 0 THEN 'cancelled'
        ELSE 'completed'
    END::job_status;
END
$$;

ALTER TABLE jobs
    ALTER COLUMN kind TYPE job_kind USING kind::job_kind,
    ADD COLUMN tasks_open integer NOT NULL DEFAULT 0,
    ADD COLUMN tasks_failed integer NOT NULL DEFAULT 0,
    ADD COLUMN tasks_cancelled integer NOT NULL DEFAULT 0,
    ADD COLUMN priority priority NOT NULL DEFAULT 'normal';
UPDATE jobs j SET tasks_open = c.open, tasks_failed = c.failed, tasks_cancelled = c.cancelled,
                  started_at = CASE WHEN c.started THEN coalesce(j.started_at, j.created_at) END
FROM (SELECT job_id,
             count(*) FILTER (WHERE status IN ('pending', 'running')) AS open,
             count(*) FILTER (WHERE status = 'failed') AS failed,
             count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
             bool_or(status <> 'pending') AS started
      FROM tasks GROUP BY job_id) c
WHERE c.job_id = j.id;
UPDATE jobs SET finished_at = coalesce(finished_at, updated_at) WHERE tasks_open = 0;
UPDATE jobs SET finished_at = NULL WHERE tasks_open > 0;
ALTER TABLE jobs DROP COLUMN status;
ALTER TABLE jobs
    ADD COLUMN status job_status NOT NULL
        GENERATED ALWAYS AS (job_status_of(tasks_open, tasks_failed, tasks_cancelled, started_at IS NOT NULL)) STORED,
    ADD CONSTRAINT jobs_counts CHECK (tasks_open >= 0 AND tasks_failed >= 0 AND tasks_cancelled >= 0),
    ADD CONSTRAINT jobs_finished_iff_no_open_task CHECK ((tasks_open = 0) = (finished_at IS NOT NULL));
-- No index names `status` or `started_at`: the first claim's start of the
-- job then rewrites its row in place (HOT), touching none of its indexes.
ALTER TABLE jobs SET (fillfactor = 75);
CREATE INDEX jobs_tenant_in_flight ON jobs (tenant_id) WHERE tasks_open > 0;
CREATE INDEX jobs_cancelled_uncleaned ON jobs (finished_at) WHERE tasks_cancelled > 0 AND cleaned_at IS NULL;

-- How far above `normal` a tenant's jobs may ask to be served.
ALTER TABLE tenants ADD COLUMN max_priority priority NOT NULL DEFAULT 'high';

-- Events ----------------------------------------------------------------
ALTER TABLE job_events ALTER COLUMN kind TYPE event_kind USING kind::event_kind;

-- Runs and events are written at every stage; a foreign key on the job
-- would lock the job's row (FOR KEY SHARE) with every one of them. They
-- are written only in statements that hold the job's run, and deleting a
-- job deletes them (queries/jobs/delete.sql).
ALTER TABLE stage_runs DROP CONSTRAINT stage_runs_job_id_fkey;
ALTER TABLE job_events DROP CONSTRAINT job_events_job_id_fkey;
-- Likewise a commit's record would lock the run it records; runs deleted
-- (a job deleted, later stages run anew after an edit) take theirs along.
ALTER TABLE stage_commits DROP CONSTRAINT stage_commits_stage_run_id_fkey;

-- Deleting an upload (or a job's exclusive uploads) looks for jobs using it.
CREATE INDEX jobs_source_upload ON jobs (source_upload_id);
CREATE INDEX jobs_background_upload ON jobs (background_upload_id) WHERE background_upload_id IS NOT NULL;

-- Usage is read per job by the job view.
CREATE INDEX usage_records_job ON usage_records (job_id);

-- Worker processes ------------------------------------------------------
-- A worker process's lease: every run it holds (stage_runs.lease_owner) is
-- held while this row's lease is live, and the process renews it once per
-- interval for all of them. The janitor deletes a row whose lease ran out,
-- with the runs it held queued again, in one transaction.
CREATE TABLE workers (
    id                text PRIMARY KEY,
    stage             stage,
    host              text NOT NULL,
    pid               integer NOT NULL,
    started_at        timestamptz NOT NULL DEFAULT now(),
    lease_expires_at  timestamptz NOT NULL
) WITH (fillfactor = 50);
