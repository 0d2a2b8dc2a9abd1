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
    # Sane: between MIN_TIMESTAMP_MS and now + max_future_s, written as |ts - middle| <= half-width so that
    # TS_MS (a JSON parse; computed columns cannot refer to each other) appears only twice.
    now_ms, max_ms = "UNIX_TIMESTAMP() * 1000", max_future_s * 1000
    sane_ts = (
        f"ABS({TS_MS} - ({now_ms} + {MIN_TIMESTAMP_MS + max_ms}) / 2) <= ({now_ms} + {max_ms - MIN_TIMESTAMP_MS}) / 2"
    )
    return f"""
CREATE TABLE raw_events (
  payload STRING,
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


def parsed_view() -> str:
    """Every record with its fields and a `problem`: NULL when valid, else why it is skipped
    ('heartbeat' for heartbeats, which only move event time).

    The planner inlines these columns wherever the CASE refers to them, and each JSON_VALUE parses
    the payload again: every field is referred to once in the CASE, which costs JSON parsing, the
    dominant per-record cost (see docs/benchmarks/flink.md)."""
    return f"""
CREATE TEMPORARY VIEW parsed_events AS
SELECT
  event_type, user_id, TRY_CAST(value_text AS DOUBLE) AS event_value, ts,
  CASE
    -- Also what a record that is not a JSON object gets: every JSON_VALUE of it is NULL.
    WHEN NOT COALESCE(REGEXP(event_type, {_quote(EVENT_TYPE_PATTERN)}), FALSE) THEN
      CASE WHEN JSON_VALUE(payload, '$.{HEARTBEAT_FIELD}') = 'true' THEN 'heartbeat' ELSE 'bad_event_type' END
    WHEN NOT COALESCE(REGEXP(user_id, '(?s)^.{{1,128}}$'), FALSE) THEN 'bad_user_id'
    -- A numeric string is accepted as a value too; NaN and Infinity fail the pattern.
    WHEN NOT COALESCE(REGEXP(value_text, '{NUMBER_PATTERN}'), FALSE) THEN 'bad_value'
    -- Missing, not an integer, or absurd: the source gave it event time 0 (see source_ddl).
    WHEN ts = TO_TIMESTAMP_LTZ(0, 3) THEN 'bad_timestamp'
    -- Behind the watermark: its windows may already have been emitted. Dropped whole and
    -- counted, rather than silently joining only the windows still open.
    WHEN ts <= CURRENT_WATERMARK(ts) THEN 'late'
    ELSE CAST(NULL AS STRING)
  END AS problem
FROM (
  SELECT
    payload, ts,
    JSON_VALUE(payload, '$.event_type') AS event_type,
    JSON_VALUE(payload, '$.user_id') AS user_id,
    -- Not RETURNING DOUBLE: on a JSON string that throws a ClassCastException and fails the job.
    JSON_VALUE(payload, '$.value') AS value_text
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
