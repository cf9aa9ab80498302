-- A user's edits of a task's dubbed lines ({"<segment id>": {text, start,
-- end}}), laid over the machine translation by every stage that uses the
-- lines, so an edit outlives re-runs and never touches another stage's file.
ALTER TABLE tasks ADD COLUMN segment_edits jsonb NOT NULL DEFAULT '{}'::jsonb;
