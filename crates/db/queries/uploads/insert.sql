-- Records an upload; recording the same id twice keeps the first.
INSERT INTO uploads (id, tenant_id, object_key, file_name, content_type, size_bytes,
                     duration_s, media, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (id) DO NOTHING
