-- Posts made through Postiz, one per job language. The row is written
-- just before the post is sent and completed after, so a retry never posts
-- twice: a row left 'posting' means the answer was lost; the stage then
-- fails and marks it 'unconfirmed', and only a retry the user asks for
-- completes it, without sending the post again.
CREATE TABLE social_posts (
    job_id     uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    language   text NOT NULL,
    vendor     text NOT NULL,
    status     text NOT NULL CHECK (status IN ('posting', 'unconfirmed', 'posted')),
    -- The channels posted on: [{id, platform, name}].
    channels   jsonb NOT NULL,
    -- Postiz's answer as it came: [{postId, integration}].
    posts      jsonb,
    started_at timestamptz NOT NULL DEFAULT now(),
    posted_at  timestamptz,
    PRIMARY KEY (job_id, language)
);

-- Runs held until a time (a scheduled publish) that no one has dispatched
-- yet: what the janitor looks for on every pass.
CREATE INDEX stage_runs_held ON stage_runs (run_after)
    WHERE status = 'queued' AND last_dispatched_at IS NULL;
