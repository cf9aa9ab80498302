-- Usage rows are written for failed attempts too, one per engine, unit and
-- outcome within an attempt, each summing that many calls.
ALTER TABLE usage_records ADD COLUMN calls integer NOT NULL DEFAULT 1;
ALTER TABLE usage_records DROP CONSTRAINT usage_records_stage_run_id_engine_unit_key;
ALTER TABLE usage_records ADD CONSTRAINT usage_records_once UNIQUE (stage_run_id, attempt, engine, unit, ok);
