-- Usage is the account of what was spent, like the credit ledger: it
-- outlives the job it served (deleted by its owner or by retention), so a
-- tenant's totals for a period never shrink afterwards.
ALTER TABLE usage_records ADD COLUMN tenant_id uuid REFERENCES tenants (id) ON DELETE CASCADE;
UPDATE usage_records u SET tenant_id = j.tenant_id FROM jobs j WHERE j.id = u.job_id;
ALTER TABLE usage_records ALTER COLUMN tenant_id SET NOT NULL;

ALTER TABLE usage_records ALTER COLUMN job_id DROP NOT NULL;
ALTER TABLE usage_records DROP CONSTRAINT usage_records_job_id_fkey;
ALTER TABLE usage_records ADD CONSTRAINT usage_records_job_id_fkey
    FOREIGN KEY (job_id) REFERENCES jobs (id) ON DELETE SET NULL;

ALTER TABLE usage_records ALTER COLUMN stage_run_id DROP NOT NULL;
ALTER TABLE usage_records DROP CONSTRAINT usage_records_stage_run_id_fkey;
ALTER TABLE usage_records ADD CONSTRAINT usage_records_stage_run_id_fkey
    FOREIGN KEY (stage_run_id) REFERENCES stage_runs (id) ON DELETE SET NULL;

CREATE INDEX usage_records_tenant ON usage_records (tenant_id, created_at);
