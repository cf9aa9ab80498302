-- Upload $1 of tenant $2 (another tenant's is not found).
SELECT id, tenant_id, object_key, file_name, content_type, size_bytes, duration_s, media,
       created_at
FROM uploads WHERE id = $1 AND tenant_id = $2
