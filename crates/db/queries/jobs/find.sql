-- Whether job $1 of tenant $2 exists (before taking its locks).
SELECT 1 FROM jobs WHERE id = $1 AND tenant_id = $2
