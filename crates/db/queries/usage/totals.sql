-- Tenant $1's usage in [$2, $3), summed per unit and per group: $4 is
-- 'engine', 'stage' (none as '') or 'day' (YYYY-MM-DD, UTC).
SELECT CASE $4::text
           WHEN 'engine' THEN u.engine
           WHEN 'stage' THEN coalesce(u.stage, '')
           WHEN 'day' THEN to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')
       END AS key,
       u.unit,
       coalesce(sum(u.calls), 0)::bigint AS calls,
       coalesce(sum(u.calls) FILTER (WHERE NOT u.ok), 0)::bigint AS failed_calls,
       coalesce(sum(u.units), 0)::float8 AS units,
       coalesce(sum(u.cost_usd), 0)::float8 AS cost_usd
FROM usage_records u
WHERE u.tenant_id = $1 AND u.created_at >= $2 AND u.created_at < $3
GROUP BY key, u.unit ORDER BY key, u.unit
