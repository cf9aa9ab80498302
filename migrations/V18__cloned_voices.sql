-- Voices cloned at a vendor (ElevenLabs) from a job's speakers, with the
-- job's consent (options.clone_voices). Recorded the moment the vendor
-- makes one, before the stage commits, so none is ever lost track of; the
-- janitor deletes each at the vendor once the job has ended and its files
-- have expired (or it was cancelled or deleted), and keeps the row as the
-- record of what was cloned and when it went. No foreign key: a clone
-- outlives its job's row until it is deleted at the vendor.
CREATE TABLE cloned_voices (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id      uuid NOT NULL,
    tenant_id   uuid NOT NULL,
    engine      text NOT NULL,
    speaker     text NOT NULL,
    voice_id    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);
-- One live clone per speaker of a job at each engine: a re-run reuses it.
CREATE UNIQUE INDEX cloned_voices_live ON cloned_voices (job_id, engine, speaker)
    WHERE deleted_at IS NULL;
CREATE INDEX cloned_voices_to_delete ON cloned_voices (job_id) WHERE deleted_at IS NULL;
