-- Windows per value of a breakdown property (issue 16): '' in both columns is a window of the whole event
-- type, which every row written before this migration is. The primary key takes them in, window_start last,
-- so that one series (a type's windows, or a breakdown value's) is one range of the index.
ALTER TABLE metrics ADD COLUMN IF NOT EXISTS breakdown text NOT NULL DEFAULT '';
ALTER TABLE metrics ADD COLUMN IF NOT EXISTS breakdown_value text NOT NULL DEFAULT '';
ALTER TABLE metrics DROP CONSTRAINT IF EXISTS metrics_pkey;
ALTER TABLE metrics ADD PRIMARY KEY (event_type, window_size, breakdown, breakdown_value, window_start);
