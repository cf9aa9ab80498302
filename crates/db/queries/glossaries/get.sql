-- Tenant $1's glossary, if they set one.
SELECT terms, updated_at FROM tenant_glossaries WHERE tenant_id = $1
