-- Forgets an artifact whose object was deleted.
DELETE FROM artifacts WHERE id = $1
