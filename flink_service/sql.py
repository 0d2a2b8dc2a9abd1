"""The Flink SQL of the metrics job, built from settings by pure functions.

Events arrive as raw strings so that nothing in the topic can fail the job. Each record is parsed and
judged once, by the Java function `parse_event` (flink_service/functions, ParseEvent.java), which returns
its fields and a `problem`: NULL when valid, else why it is skipped. Event time is the record's timestamp
when it is sane, else the epoch, so an invalid record never moves the watermark. The aggregation runs in
Flink's own window operators (HOP window TVF); Python only writes Redis.

The same SQL serves up to two branches of the job (`Branch`): the live one, and with ALLOWED_LATENESS_S a
`final` one over the same topic whose watermark waits that much longer; and the replay's batch job.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.events import EVENT_TYPE_PATTERN, MAX_ABS_VALUE, MAX_ID_LENGTH, MIN_TIMESTAMP_MS
from contracts.windows import WindowSpec

# The job's Java functions (flink_service/functions): SQL name -> class.
JAVA_FUNCTIONS = {
    "parse_event": "io.example.analytics.flink.ParseEvent",
    "value_percentiles": "io.example.analytics.flink.ValuePercentiles",
    "breakdown_windows": "io.example.analytics.flink.BreakdownWindows",
    "unique_count": "io.example.analytics.flink.UniqueCount",
}
# Why a record is not counted, besides the reasons parse_event gives (see ParseEvent.java):
LATE = "late"  # behind the watermark: its windows may already have been emitted
HEARTBEAT = "heartbeat"  # a watermark heartbeat, never an event


@dataclass(frozen=True)
class Branch:
    """The names of one branch's source table and views: the live one's are plain, the final one's prefixed."""

    prefix: str = ""

    @property
    def raw(self) -> str:
        return f"{self.prefix}raw_events"

    @property
    def parsed(self) -> str:
        return f"{self.prefix}parsed_events"

    @property
    def valid(self) -> str:
        return f"{self.prefix}valid_events"

    @property
    def broken_down(self) -> str:
        return f"{self.prefix}breakdown_events"

    @property
    def skipped(self) -> str:
        return f"{self.prefix}skipped_events"


LIVE = Branch()
FINAL = Branch("final_")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def parse_call(max_future_s: int, breakdown_properties: tuple[str, ...] = ()) -> str:
    """The call of parse_event with the limits of contracts/events.py (and the job's future bound)."""
    return (
        f"parse_event(payload, {_quote(EVENT_TYPE_PATTERN)}, {MAX_ID_LENGTH}, CAST({MIN_TIMESTAMP_MS} AS BIGINT), "
        f"CAST({max_future_s * 1000} AS BIGINT), CAST({MAX_ABS_VALUE!r} AS DOUBLE), "
        f"{_quote(','.join(breakdown_properties))})"
    )


def functions_ddl(jar_uri: str) -> list[str]:
    """The job's Java functions; the jar travels with the job (the cluster needs no restart when it changes)."""
    return [
        f"CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS {name} AS {_quote(java_class)} "
        f"LANGUAGE JAVA USING JAR {_quote(jar_uri)}"
        for name, java_class in JAVA_FUNCTIONS.items()
    ]


def source_ddl(
    *, topic: str, bootstrap_servers: str, group_id: str, watermark_delay_s: int, max_future_s: int,
    scan: dict[str, str] | None = None, branch: Branch = LIVE, batch: bool = False,
) -> str:
    """The events topic as raw strings; `scan` replaces the live job's start (its consumer group's offsets,
    unbounded) with other scan options, e.g. the replay's bounded offsets. In `batch` (the replay) the table is
    the payload alone: no watermark, so no event time to compute here (`parsed_view` takes it from its parse)."""
    scan = scan or {"scan.startup.mode": "group-offsets", "scan.topic-partition-discovery.interval": "60 s"}
    scan_options = "".join(f"  {_quote(key)} = {_quote(value)},\n" for key, value in scan.items())
    event_time = "" if batch else f""",
  ts AS TO_TIMESTAMP_LTZ({parse_call(max_future_s)}.ts_ms, 3),
  proc_time AS PROCTIME(),
  WATERMARK FOR ts AS ts - {interval_sql(watermark_delay_s)}"""
    return f"""
CREATE TABLE {branch.raw} (
  payload STRING{event_time}
) WITH (
  'connector' = 'kafka',
  'topic' = {_quote(topic)},
  'properties.bootstrap.servers' = {_quote(bootstrap_servers)},
  'properties.group.id' = {_quote(group_id)},
  'properties.auto.offset.reset' = 'earliest',
{scan_options}  'format' = 'raw',
  'raw.charset' = 'UTF-8'
)"""


def parsed_view(
    max_future_s: int, breakdown_properties: tuple[str, ...] = (), batch: bool = False, branch: Branch = LIVE
) -> str:
    """Every record with its fields and a `problem`: NULL when valid, else why it is skipped
    (parse_event's reasons, 'late', or 'heartbeat' for heartbeats, which only move event time).

    parse_event is declared non-deterministic (its timestamp bound moves with the clock), so the planner
    computes it once per record here instead of inlining it into every column that reads its row.

    In `batch` (the replay) nothing is late: every event of the range counts, whenever it arrived; and event time
    comes from this parse (the live source computes it once more for its watermark: a second parse per record)."""
    late = "" if batch else f"WHEN ts <= CURRENT_WATERMARK(ts) THEN {_quote(LATE)}"
    times = ("TO_TIMESTAMP_LTZ(p.e.ts_ms, 3) AS ts, CAST(NULL AS TIMESTAMP_LTZ(3)) AS proc_time" if batch
             else "ts, proc_time")
    source_times = "" if batch else ", ts, proc_time"
    return f"""
CREATE TEMPORARY VIEW {branch.parsed} AS
SELECT
  payload, p.e.event_type AS event_type, p.e.user_id AS user_id, p.e.event_value AS event_value, {times},
  p.e.breakdowns AS breakdowns,
  CASE
    WHEN p.e.problem IS NOT NULL THEN p.e.problem
    -- Behind the watermark: dropped whole and counted, rather than silently joining only the windows
    -- still open.
    {late}
    ELSE CAST(NULL AS STRING)
  END AS problem
FROM (SELECT payload, {parse_call(max_future_s, breakdown_properties)} AS e{source_times} FROM {branch.raw}) AS p"""


def valid_view(branch: Branch = LIVE) -> str:
    return f"""
CREATE TEMPORARY VIEW {branch.valid} AS
SELECT event_type, user_id, event_value, ts, breakdowns FROM {branch.parsed} WHERE problem IS NULL"""


def breakdown_view(branch: Branch = LIVE, properties: int = 0) -> str:
    """One row per valid event and breakdown property (BREAKDOWN_PROPERTIES), with the event's value of it.
    With one property, its pair is read from the array straight away: no UNNEST (a correlate per record)."""
    if properties == 1:
        return f"""
CREATE TEMPORARY VIEW {branch.broken_down} AS
SELECT event_type, user_id, event_value, ts, breakdowns[1].property AS property,
  breakdowns[1].property_value AS property_value
FROM {branch.valid}"""
    return f"""
CREATE TEMPORARY VIEW {branch.broken_down} AS
SELECT event_type, user_id, event_value, ts, b.property, b.property_value
FROM {branch.valid} CROSS JOIN UNNEST(breakdowns) AS b (property, property_value)"""


def skipped_view(late_from: Branch = LIVE) -> str:
    """Every record the job skips (heartbeats aside): the live branch's invalid records, and the late ones of
    the branch whose watermark decides lateness (the final one when ALLOWED_LATENESS_S is set)."""
    invalid = f"problem IS NOT NULL AND problem <> {_quote(HEARTBEAT)}"
    if late_from == LIVE:
        return f"""
CREATE TEMPORARY VIEW {LIVE.skipped} AS
SELECT event_type, problem, proc_time FROM {LIVE.parsed} WHERE {invalid}"""
    return f"""
CREATE TEMPORARY VIEW {LIVE.skipped} AS
SELECT event_type, problem, proc_time FROM {LIVE.parsed} WHERE {invalid} AND problem <> {_quote(LATE)}
UNION ALL
SELECT event_type, problem, proc_time FROM {late_from.parsed} WHERE problem = {_quote(LATE)}"""


def views_ddl(max_future_s: int, breakdown_properties: tuple[str, ...], branch: Branch = LIVE,
              batch: bool = False) -> list[str]:
    """The parsed, valid and broken-down views of a branch."""
    return [parsed_view(max_future_s, breakdown_properties, batch, branch), valid_view(branch),
            breakdown_view(branch, len(breakdown_properties))]


# The columns of every window query, in the order the Redis writer takes them (breakdown columns NULL for
# the windows of a whole event type).
WINDOW_RESULT_COLUMNS = (
    "event_type", "window_size", "window_start", "window_end", "event_count", "total_value", "unique_users",
    "p50", "p95", "p99", "breakdown", "breakdown_value",
)


def interval_sql(seconds: int) -> str:
    """A day-time interval literal of `seconds`. `INTERVAL 'n' SECOND` holds at most 99 s (its default precision,
    2 digits): the 5m and 1h tiers would not parse. Days keep that default up to 99 (an expression such as the
    watermark's takes no other); a longer window names the digits it needs (window functions take them)."""
    days, rest = divmod(seconds, 86_400)
    day = "DAY" if days < 100 else f"DAY({len(str(days))})"
    return f"INTERVAL '{days} {rest // 3600:02}:{rest % 3600 // 60:02}:{rest % 60:02}' {day} TO SECOND"


def _hop(table: str, spec: WindowSpec) -> str:
    return (f"TABLE(HOP(TABLE {table}, DESCRIPTOR(ts), {interval_sql(spec.slide_s)}, "
            f"{interval_sql(spec.size_s)}))")


def window_query(spec: WindowSpec, branch: Branch = LIVE, percentiles: bool = True) -> str:
    """Per-event_type sliding-window aggregates for one spec, labelled by its size (WINDOW_RESULT_COLUMNS);
    without `percentiles` their columns are NULL and no sketch is kept."""
    if percentiles:
        sketch = ",\n    value_percentiles(event_value) AS pct"
        columns = "pct.p50 AS p50, pct.p95 AS p95, pct.p99 AS p99"
    else:
        sketch = ""
        columns = ", ".join(f"CAST(NULL AS DOUBLE) AS {name}" for name in ("p50", "p95", "p99"))
    return f"""
SELECT event_type, window_size, window_start, window_end, event_count, total_value, unique_users,
  {columns}, CAST(NULL AS STRING) AS breakdown,
  CAST(NULL AS STRING) AS breakdown_value
FROM (
  SELECT
    event_type, {_quote(spec.label)} AS window_size, window_start, window_end,
    COUNT(*) AS event_count,
    SUM(event_value) AS total_value,
    unique_count(user_id) AS unique_users{sketch}
  FROM {_hop(branch.valid, spec)}
  GROUP BY event_type, window_start, window_end
)"""


def breakdown_query(spec: WindowSpec, breakdowns: tuple[str, ...], max_values: int, branch: Branch = LIVE,
                    percentiles: bool = True) -> str:
    """Per (event_type, breakdown property) windows for one spec: one row per value kept apart, plus `(other)`
    for the rest (breakdown_windows in flink_service/functions), in WINDOW_RESULT_COLUMNS; the group of the first
    property also gives the window of the whole event type (breakdown NULL), so with breakdowns on every window
    comes from this one aggregation (a second one per event type cost a third of the job's rate, issue 16)."""
    return f"""
SELECT event_type, window_size, window_start, window_end, r.event_count, r.total_value, r.unique_users,
  r.p50, r.p95, r.p99, CASE WHEN r.property_value IS NULL THEN CAST(NULL AS STRING) ELSE property END AS breakdown,
  r.property_value AS breakdown_value
FROM (
  SELECT
    event_type, {_quote(spec.label)} AS window_size, window_start, window_end, property,
    breakdown_windows(property_value, user_id, event_value, {max_values}, property = {_quote(breakdowns[0])},
                      {str(percentiles).upper()}) AS bucket_rows
  FROM {_hop(branch.broken_down, spec)}
  GROUP BY event_type, property, window_start, window_end
) CROSS JOIN UNNEST(bucket_rows) AS r (property_value, event_count, total_value, unique_users, p50, p95, p99)"""


def windows_union(specs: list[WindowSpec], breakdowns: tuple[str, ...] = (), breakdown_max_values: int = 0,
                  branch: Branch = LIVE, percentiles: bool = True) -> str:
    """Every window result of a branch: per event type, and per breakdown value when breakdowns are on (then
    both from breakdown_query)."""
    if breakdowns:
        queries = [breakdown_query(spec, breakdowns, breakdown_max_values, branch, percentiles) for spec in specs]
    else:
        queries = [window_query(spec, branch, percentiles) for spec in specs]
    return "\nUNION ALL\n".join(queries)


INVALID_QUERY = f"SELECT problem FROM {LIVE.skipped}"
# How many records were skipped per event type and reason, every SKIPPED_COUNT_INTERVAL_S of processing time:
# the ledger's input (event_type is NULL when the record had no valid one).
SKIPPED_COUNT_INTERVAL_S = 10


SKIPPED_COUNTS_QUERY = f"""
SELECT event_type, problem, COUNT(*) AS skipped
FROM TABLE(TUMBLE(TABLE {LIVE.skipped}, DESCRIPTOR(proc_time), INTERVAL '{SKIPPED_COUNT_INTERVAL_S}' SECOND))
GROUP BY event_type, problem, window_start, window_end"""


def late_payloads_query(branch: Branch = LIVE) -> str:
    return f"SELECT payload FROM {branch.parsed} WHERE problem = {_quote(LATE)}"


def late_sink_ddl(*, topic: str, bootstrap_servers: str, transactional_id_prefix: str) -> str:
    """The dead-letter topic: every late event's record, unchanged, written exactly once (Kafka transactions
    committed at each checkpoint: read it with isolation.level=read_committed)."""
    return f"""
CREATE TEMPORARY TABLE late_events (payload STRING) WITH (
  'connector' = 'kafka',
  'topic' = {_quote(topic)},
  'properties.bootstrap.servers' = {_quote(bootstrap_servers)},
  'format' = 'raw',
  'raw.charset' = 'UTF-8',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = {_quote(transactional_id_prefix)},
  -- At most the broker's transaction.max.timeout.ms (15 minutes by default).
  'properties.transaction.timeout.ms' = '900000'
)"""
