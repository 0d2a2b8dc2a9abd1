-- History tiers (issue 17): the sync worker deletes the rows of a window size older than its retention, a
-- bounded batch at a time. The primary key cannot find them (event_type comes first), so an index by
-- (window_size, window_start) does: each batch reads only the rows it deletes. Windows arrive in time order,
-- so new entries land at the right edge of each size's range and the index costs the sync little.
CREATE INDEX IF NOT EXISTS metrics_window_size_start ON metrics (window_size, window_start);
