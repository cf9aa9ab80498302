-- The operator dashboard reads across tenants: the jobs of the last hours
-- (jobs_tenant_created starts with the tenant) and the latest failed tasks
-- (a scan of every task otherwise), every few seconds while it is open.
CREATE INDEX jobs_created ON jobs (created_at);
CREATE INDEX tasks_failed ON tasks (finished_at DESC) WHERE status = 'failed';
