-- Usage rows say where the call was made, what it cost and how it ended.
ALTER TABLE usage_records
    ADD COLUMN language  text,
    ADD COLUMN stage     text,
    ADD COLUMN cost_usd  double precision NOT NULL DEFAULT 0,
    ADD COLUMN ok        boolean NOT NULL DEFAULT true,
    ADD COLUMN error     text;
CREATE INDEX usage_records_created ON usage_records (created_at);

-- Credits: a ledger per tenant. A language's price is fixed on its task when
-- the job is made; the job reserves the sum, and each task, once final,
-- releases its reservation and (if it completed) is charged. Every entry is
-- keyed so that no retry, redelivery or crash can write it twice. Amounts
-- are integers in ten-thousandths of a credit, so sums are exact.
ALTER TABLE tasks
    ADD COLUMN credits       bigint,
    ADD COLUMN credit_round  integer NOT NULL DEFAULT 0;

CREATE TABLE credit_entries (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- No foreign keys: the ledger outlives deleted jobs.
    job_id      uuid,
    task_id     uuid,
    kind        text NOT NULL CHECK (kind IN ('grant', 'reserve', 'release', 'charge')),
    round       integer NOT NULL DEFAULT 0,
    amount      bigint NOT NULL,
    note        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (task_id, kind, round)
);
CREATE INDEX credit_entries_tenant ON credit_entries (tenant_id, id);
