-- The object keys of the uploads only this job uses.
SELECT u.object_key FROM uploads u JOIN jobs j
  ON u.id = j.source_upload_id OR u.id = j.background_upload_id
WHERE j.id = $1
  AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.id <> $1
                  AND (o.source_upload_id = u.id OR o.background_upload_id = u.id))
