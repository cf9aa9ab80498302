-- A job promised to the existing frontend before its files exist: its id and
-- the upload ids its signed upload URLs write to. `POST /api/jobs/` turns a
-- draft into a job once the files are there; the janitor deletes drafts
-- (and whatever was uploaded for them) that were never turned into jobs.
CREATE TABLE job_drafts (
    job_id                uuid PRIMARY KEY,
    tenant_id             uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    languages             text[] NOT NULL,
    voice_upload_id       uuid NOT NULL,
    voice_file_name       text NOT NULL,
    background_upload_id  uuid,
    background_file_name  text,
    created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_drafts_age ON job_drafts (created_at);
