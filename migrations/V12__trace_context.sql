-- W3C trace context (issue #7). A job remembers the traceparent of the
-- request that created it: every queue message of its runs carries it, so
-- each stage's span is a child of that request's span. A run remembers its
-- latest attempt's own span, which the next attempt links to.
ALTER TABLE jobs ADD COLUMN traceparent text NOT NULL DEFAULT '';
ALTER TABLE stage_runs ADD COLUMN attempt_span text NOT NULL DEFAULT '';
