-- Scripts: a job's lines given by the client instead of heard (the
-- source's transcript for a dub or subtitle job, the text of a voiceover),
-- as read and checked by the gateway: `segments` is a list of
-- `voxline_core::Segment`. Kept apart from `jobs` so the rows every stage
-- reads stay small; only the transcription stage reads a script.
ALTER TYPE job_kind ADD VALUE IF NOT EXISTS 'voiceover';

CREATE TABLE job_scripts (
    job_id    uuid PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    format    text NOT NULL,
    segments  jsonb NOT NULL
);
