-- Percentiles of `value` per window (issue 16): NULL for windows synced before the job computed them.
ALTER TABLE metrics ADD COLUMN IF NOT EXISTS p50 double precision;
ALTER TABLE metrics ADD COLUMN IF NOT EXISTS p95 double precision;
ALTER TABLE metrics ADD COLUMN IF NOT EXISTS p99 double precision;
