-- Logs one attempt at delivering a webhook.
INSERT INTO webhook_deliveries (job_id, language, event_id, url, attempt, status_code, error,
                                duration_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
