-- When the files of a cancelled job were deleted (the janitor does it once
-- no worker can still be writing them).
ALTER TABLE jobs ADD COLUMN cleaned_at timestamptz;
CREATE INDEX jobs_cancelled_uncleaned ON jobs (finished_at) WHERE status = 'cancelled' AND cleaned_at IS NULL;
