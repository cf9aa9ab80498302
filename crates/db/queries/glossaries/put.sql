-- Replaces tenant $1's glossary with the terms $2.
INSERT INTO tenant_glossaries (tenant_id, terms) VALUES ($1, $2)
ON CONFLICT (tenant_id) DO UPDATE SET terms = EXCLUDED.terms, updated_at = now()
RETURNING updated_at
