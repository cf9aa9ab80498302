-- Clone $1 is deleted at its vendor.
UPDATE cloned_voices SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL
