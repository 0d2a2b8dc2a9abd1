"""The Flink SQL of the metrics job, built from settings by pure functions.

Events arrive as raw strings so that nothing in the topic can fail the job: fields are read with
JSON_VALUE (NULL on any error), a row is valid only when every field is present, typed and sane,
and event time falls back to the epoch for invalid rows so they never move the watermark.
The aggregation runs in Flink's own window operators (HOP window TVF); Python only writes Redis.
"""

from __future__ import annotations

from contracts.events import EVENT_TYPE_PATTERN, HEARTBEAT_FIELD, MIN_TIMESTAMP_MS
from contracts.windows import WindowSpec


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


NUMBER_PATTERN = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"
# JSON_VALUE cannot return BIGINT; a non-integer timestamp makes TRY_CAST give NULL (invalid).
TS_MS = "TRY_CAST(JSON_VALUE(payload, '$.timestamp') AS BIGINT)"


def source_ddl(
    *, topic: str, bootstrap_servers: str, group_id: str, watermark_delay_s: int, max_future_s: int
) -> str:
    # Computed columns cannot refer to each other, hence TS_MS twice.
    sane_ts = f"{TS_MS} BETWEEN {MIN_TIMESTAMP_MS} AND UNIX_TIMESTAMP() * 1000 + {max_future_s * 1000}"
    return f"""
CREATE TABLE raw_events (
  payload STRING,
  ts_ms AS {TS_MS},
  ts AS TO_TIMESTAMP_LTZ(CASE WHEN {sane_ts} THEN {TS_MS} ELSE 0 END, 3),
  WATERMARK FOR ts AS ts - INTERVAL '{watermark_delay_s}' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = {_quote(topic)},
  'properties.bootstrap.servers' = {_quote(bootstrap_servers)},
  'properties.group.id' = {_quote(group_id)},
  'properties.auto.offset.reset' = 'earliest',
  'scan.startup.mode' = 'group-offsets',
  'scan.topic-partition-discovery.interval' = '60 s',
  'format' = 'raw',
  'raw.charset' = 'UTF-8'
)"""


def parsed_view(max_future_s: int) -> str:
    """Every record with its fields and a `problem`: NULL when valid, else why it is skipped
    ('heartbeat' for heartbeats, which only move event time)."""
    pattern = EVENT_TYPE_PATTERN
    return f"""
CREATE TEMPORARY VIEW parsed_events AS
SELECT
  event_type, user_id, event_value, ts,
  CASE
    WHEN NOT (payload IS JSON OBJECT) THEN 'malformed_json'
    WHEN JSON_VALUE(payload, '$.{HEARTBEAT_FIELD}') = 'true' AND event_type IS NULL THEN 'heartbeat'
    WHEN event_type IS NULL OR NOT REGEXP(event_type, {_quote(pattern)}) THEN 'bad_event_type'
    WHEN user_id IS NULL OR CHAR_LENGTH(user_id) = 0 OR CHAR_LENGTH(user_id) > 128 THEN 'bad_user_id'
    WHEN event_value IS NULL THEN 'bad_value'
    WHEN ts_ms IS NULL THEN 'bad_timestamp'
    WHEN ts_ms < {MIN_TIMESTAMP_MS} OR ts_ms > UNIX_TIMESTAMP() * 1000 + {max_future_s * 1000}
      THEN 'absurd_timestamp'
    -- Behind the watermark: its windows may already have been emitted. Dropped whole and
    -- counted, rather than silently joining only the windows still open.
    WHEN ts <= CURRENT_WATERMARK(ts) THEN 'late'
    ELSE CAST(NULL AS STRING)
  END AS problem
FROM (
  SELECT
    payload, ts, ts_ms,
    JSON_VALUE(payload, '$.event_type' RETURNING STRING NULL ON EMPTY NULL ON ERROR) AS event_type,
    JSON_VALUE(payload, '$.user_id' RETURNING STRING NULL ON EMPTY NULL ON ERROR) AS user_id,
    -- Not RETURNING DOUBLE: on a JSON string that throws a ClassCastException and fails the job.
    -- A numeric string is thus accepted as a value; NaN and Infinity are rejected by the pattern.
    CASE WHEN REGEXP(JSON_VALUE(payload, '$.value'), '{NUMBER_PATTERN}')
      THEN TRY_CAST(JSON_VALUE(payload, '$.value') AS DOUBLE) END AS event_value
  FROM raw_events
)"""


def window_query(spec: WindowSpec) -> str:
    """Per-event_type sliding-window aggregates for one spec, labelled by its size."""
    return f"""
SELECT
  event_type, {_quote(spec.label)} AS window_size, window_start, window_end,
  COUNT(*) AS event_count,
  SUM(event_value) AS total_value,
  COUNT(DISTINCT user_id) AS unique_users
FROM TABLE(HOP(
  TABLE valid_events, DESCRIPTOR(ts), INTERVAL '{spec.slide_s}' SECOND, INTERVAL '{spec.size_s}' SECOND))
GROUP BY event_type, window_start, window_end"""


VALID_EVENTS_VIEW = """
CREATE TEMPORARY VIEW valid_events AS
SELECT event_type, user_id, event_value, ts FROM parsed_events WHERE problem IS NULL"""

INVALID_QUERY = (
    "SELECT problem FROM parsed_events WHERE problem IS NOT NULL AND problem <> 'heartbeat'"
)


def windows_union(specs: list[WindowSpec]) -> str:
    return "\nUNION ALL\n".join(window_query(spec) for spec in specs)
