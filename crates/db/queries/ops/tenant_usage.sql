-- Every tenant that created a job or called an engine since $1, the most
-- expensive first: its jobs, their seconds of media, and its engine calls
-- (and failed ones) with their estimated cost.
WITH j AS (
    SELECT tenant_id, count(*) AS jobs, sum(duration_s) AS media_seconds
    FROM jobs WHERE created_at >= $1 GROUP BY tenant_id
),
u AS (
    SELECT tenant_id, sum(calls) AS calls, sum(calls) FILTER (WHERE NOT ok) AS failed_calls,
           sum(cost_usd) AS cost_usd
    FROM usage_records WHERE created_at >= $1 GROUP BY tenant_id
)
SELECT n.name AS tenant,
       coalesce(j.jobs, 0)::bigint AS jobs,
       coalesce(j.media_seconds, 0)::float8 AS media_seconds,
       coalesce(u.calls, 0)::bigint AS engine_calls,
       coalesce(u.failed_calls, 0)::bigint AS failed_calls,
       coalesce(u.cost_usd, 0)::float8 AS cost_usd
FROM j FULL JOIN u ON u.tenant_id = j.tenant_id
JOIN tenants n ON n.id = coalesce(j.tenant_id, u.tenant_id)
ORDER BY cost_usd DESC, jobs DESC, n.name
