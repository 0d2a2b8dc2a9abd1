-- Window results synced from Redis: one row per (event_type, window_size, window_start).
CREATE TABLE IF NOT EXISTS metrics (
    event_type   text             NOT NULL,
    window_size  text             NOT NULL,
    window_start timestamptz      NOT NULL,
    window_end   timestamptz      NOT NULL,
    count        bigint           NOT NULL,
    total_value  double precision NOT NULL,
    unique_users bigint           NOT NULL,
    synced_at    timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (event_type, window_size, window_start)
);
-- /metrics/history filters on (event_type, window_size) and a window_start range, newest first:
-- the primary key's index serves it (scanned backwards).
