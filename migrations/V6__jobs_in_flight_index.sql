-- Job creation counts the tenant's jobs in flight (the per-tenant limit).
-- Without this index that count walks the tenant's whole history; with it,
-- only the jobs still queued or running.
CREATE INDEX jobs_tenant_in_flight ON jobs (tenant_id) WHERE status IN ('queued', 'running');
