-- Jobs created since $1, counted per hour (UTC) of creation and current status.
SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour, status,
       count(*) AS jobs
FROM jobs WHERE created_at >= $1
GROUP BY 1, 2
