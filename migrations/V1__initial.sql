-- Voxline's initial schema. PostgreSQL is the source of truth: every state
-- change of a job, task and stage run lands here; Redis only dispatches.

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- API keys: only a SHA-256 of the secret is kept; the prefix finds the row.
CREATE TABLE api_keys (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name          text NOT NULL,
    prefix        text NOT NULL UNIQUE,
    secret_hash   text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

CREATE TABLE uploads (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    object_key   text NOT NULL,
    file_name    text NOT NULL,
    content_type text NOT NULL,
    size_bytes   bigint NOT NULL,
    duration_s   double precision NOT NULL,
    media        jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX uploads_tenant ON uploads (tenant_id, created_at DESC);

CREATE TABLE jobs (
    id                    uuid PRIMARY KEY,
    tenant_id             uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind                  text NOT NULL,
    status                text NOT NULL,
    source_upload_id      uuid NOT NULL REFERENCES uploads (id),
    background_upload_id  uuid REFERENCES uploads (id),
    source_language       text NOT NULL,
    target_languages      text[] NOT NULL,
    options               jsonb NOT NULL,
    publish               boolean NOT NULL,
    idempotency_key       text,
    request_hash          text,
    duration_s            double precision NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    started_at            timestamptz,
    finished_at           timestamptz,
    UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX jobs_tenant_created ON jobs (tenant_id, created_at DESC, id DESC);

-- One task per target language (for a transcribe job: the source language).
CREATE TABLE tasks (
    id             uuid PRIMARY KEY,
    job_id         uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    language       text NOT NULL,
    status         text NOT NULL,
    stage          text NOT NULL,
    stages         text[] NOT NULL,
    progress       double precision NOT NULL DEFAULT 0,
    message        text NOT NULL DEFAULT '',
    error_code     text,
    error_message  text,
    stats          jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz,
    UNIQUE (job_id, language)
);

-- One row per (job, language, stage): retried in place. `attempt` is the
-- fencing token: it grows with every claim, and only the holder of the
-- current token may commit.
CREATE TABLE stage_runs (
    id                uuid PRIMARY KEY,
    job_id            uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    language          text NOT NULL,
    stage             text NOT NULL,
    status            text NOT NULL,
    attempt           integer NOT NULL DEFAULT 0,
    failures          integer NOT NULL DEFAULT 0,
    max_attempts      integer NOT NULL,
    run_after         timestamptz NOT NULL DEFAULT now(),
    lease_owner       text,
    lease_expires_at  timestamptz,
    last_dispatched_at timestamptz,
    error_code        text,
    error_message     text,
    engine            text,
    output            jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    UNIQUE (job_id, language, stage)
);
CREATE INDEX stage_runs_due ON stage_runs (run_after) WHERE status = 'queued';
CREATE INDEX stage_runs_leases ON stage_runs (lease_expires_at) WHERE status = 'running';

-- Every successful commit of a stage run, keyed by run: a second commit of
-- the same run would violate the key, so "committed twice" cannot happen
-- silently, and the count is auditable.
CREATE TABLE stage_commits (
    stage_run_id  uuid PRIMARY KEY REFERENCES stage_runs (id) ON DELETE CASCADE,
    attempt       integer NOT NULL,
    worker        text NOT NULL,
    committed_at  timestamptz NOT NULL DEFAULT now()
);

-- Dispatches to Redis that follow a commit. A row is written in the same
-- transaction as the state change and deleted once Redis has the message; the
-- reconciler re-sends what a crash left behind.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    stage_run_id  uuid NOT NULL REFERENCES stage_runs (id) ON DELETE CASCADE,
    stage         text NOT NULL,
    attempt       integer NOT NULL,
    not_before    timestamptz NOT NULL DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE artifacts (
    id            uuid PRIMARY KEY,
    job_id        uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    language      text NOT NULL,
    stage         text NOT NULL,
    kind          text NOT NULL,
    object_key    text NOT NULL,
    file_name     text NOT NULL,
    content_type  text NOT NULL,
    size_bytes    bigint NOT NULL,
    engine        text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    UNIQUE (job_id, language, kind)
);
CREATE INDEX artifacts_expiry ON artifacts (expires_at);

-- Progress events: the SSE stream and the webhook payloads read from here.
CREATE TABLE job_events (
    id          bigserial PRIMARY KEY,
    job_id      uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL,
    language    text,
    stage       text,
    data        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX job_events_job ON job_events (job_id, id);

-- Usage of every engine call, offline ones too.
CREATE TABLE usage_records (
    id            bigserial PRIMARY KEY,
    job_id        uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    stage_run_id  uuid NOT NULL REFERENCES stage_runs (id) ON DELETE CASCADE,
    attempt       integer NOT NULL,
    engine        text NOT NULL,
    unit          text NOT NULL,
    units         double precision NOT NULL,
    latency_ms    bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stage_run_id, engine, unit)
);
