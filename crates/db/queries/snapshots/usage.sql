-- Every engine call of the jobs $1, in the order they were recorded.
SELECT job_id, calls, stage, language, engine, unit, units, cost_usd, latency_ms, ok, error,
       created_at
FROM usage_records WHERE job_id = ANY($1::uuid[])
ORDER BY job_id, id
