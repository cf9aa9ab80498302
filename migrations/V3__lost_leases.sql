-- Worker losses (a killed or stalled worker's lease ran out) are counted
-- apart from the stage's own failures: a fleet being restarted should not
-- spend the retries meant for faulty engines and inputs.
ALTER TABLE stage_runs ADD COLUMN lost_leases integer NOT NULL DEFAULT 0;
