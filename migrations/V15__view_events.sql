-- Every change a job's readers can see records an event in its own
-- transaction, so the count of a job's events is its version: the gateway
-- serves a kept view of a job only while that count is unchanged
-- (crates/db/queries/snapshots/versions.sql). Three changes had none.
-- A worker stopping hands its stage back; it is queued again.
ALTER TYPE event_kind ADD VALUE IF NOT EXISTS 'stage_released' AFTER 'stage_retrying';
-- The engine calls of an attempt whose lease was lost were recorded.
ALTER TYPE event_kind ADD VALUE IF NOT EXISTS 'usage_recorded';
-- Files of the job were deleted (their lifetime ran out, or it was cancelled).
ALTER TYPE event_kind ADD VALUE IF NOT EXISTS 'files_removed';
