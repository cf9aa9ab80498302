-- Every attempt to deliver a webhook, failed ones too: what a tenant reads
-- to see why its endpoint did not hear from Voxline.
CREATE TABLE webhook_deliveries (
    id           bigserial PRIMARY KEY,
    job_id       uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    language     text NOT NULL,
    event_id     text NOT NULL,
    -- Scheme, host and path only: query strings may carry secrets.
    url          text NOT NULL,
    attempt      integer NOT NULL,
    status_code  integer,
    error        text,
    duration_ms  bigint NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_job ON webhook_deliveries (job_id, id);
