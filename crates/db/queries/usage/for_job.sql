-- Every engine call of a job, in the order they were recorded.
SELECT calls, stage, language, engine, unit, units, cost_usd, latency_ms, ok, error, created_at
FROM usage_records WHERE job_id = $1 ORDER BY id
