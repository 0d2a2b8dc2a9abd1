"""Where window results live in Redis: the key layout, built (`RedisKeys`) and read back (`parse_window_key`).

- `{prefix}:windows:{event_type}:{window_size}`: sorted set, member = canonical `WindowMetrics`
  JSON, score = window_start (ms). Exactly one member per window_start (writers upsert).
- `{prefix}:registry:event_types:last_end` / `{prefix}:registry:window_sizes:last_end`: sorted sets of the
  names windows are written for, scored by the newest window_end written for each (ms). A name whose newest
  window ended more than EVENT_TYPE_QUIET_S before the window being written is pruned: the lists (and the
  WebSocket snapshot) hold the names active within that horizon of the newest window, so a type that goes
  quiet drops out while the others go on; when everything stops, the last ones stay listed.
  (Until issue 14 they were plain sets at `{prefix}:registry:event_types` / `window_sizes`, no longer used.)
- `{prefix}:breakdown:{event_type}:{window_size}:{property}:{value}`: like the windows sorted set, for the
  windows of one value of a breakdown property (`BREAKDOWN_PROPERTIES`); the value is last, so it may hold any
  character. Registries `{prefix}:registry:breakdown_values:{event_type}:{property}` (value -> newest window_end)
  and `{prefix}:registry:breakdown_properties:{event_type}` (property -> newest window_end), pruned alike.
- `{prefix}:writer`: hash, `last_write_ms` = wall-clock time of the newest window write (freshness).
- `{prefix}:admission:event_types`: sorted set, event type -> when track_service last accepted an event of
  it (ms); the admission limit on live event types (TRACK_MAX_EVENT_TYPES) counts its members.
- `{prefix}:dedup:{event_id}`: string, track_service's shared memory of a client event_id (issue 18,
  TRACK_DEDUP_SHARED): the attempt that claimed it, `p:{process}:{n}` (expires after TRACK_DEDUP_HORIZON_S);
  `{prefix}:dedup-attempt:{attempt}`: `p` while that attempt publishes (expires after the longest a publication
  can take), `d` once Kafka acknowledged it (expires after TRACK_DEDUP_HORIZON_S). See track_service/shared_dedup.py.
- `{prefix}:updates`: pub/sub channel carrying every window result as it is written.
- `{prefix}:skipped:{minute_start_ms}` and `{prefix}:skipped:total`: hashes counting the records the job
  skipped, field `{reason}:{event_type}` (`-` when the record had no valid event type); the minute buckets
  expire after SKIPPED_BUCKET_TTL_S. See `SkippedCount`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from contracts.window_results import WindowMetrics
from contracts.windows import closes_at_ms, last_closed_start_ms, parse_duration_s


@dataclass(frozen=True)
class RedisKeys:
    prefix: str = "metrics"

    @property
    def windows_head(self) -> str:
        """What every windows sorted set's name starts with."""
        return f"{self.prefix}:windows:"

    @property
    def breakdown_head(self) -> str:
        """What every breakdown windows sorted set's name starts with."""
        return f"{self.prefix}:breakdown:"

    def windows(self, event_type: str, window_size: str) -> str:
        return f"{self.windows_head}{event_type}:{window_size}"

    def breakdown_windows(self, event_type: str, window_size: str, breakdown: str, value: str) -> str:
        return f"{self.breakdown_head}{event_type}:{window_size}:{breakdown}:{value}"

    def series(self, window: WindowMetrics) -> str:
        """The sorted set holding `window`: its breakdown value's, or its event type's."""
        if window.breakdown is not None and window.breakdown_value is not None:
            return self.breakdown_windows(window.event_type, window.window_size, window.breakdown,
                                          window.breakdown_value)
        return self.windows(window.event_type, window.window_size)

    def windows_pattern(self) -> str:
        """SCAN pattern matching every windows sorted set under this prefix."""
        return f"{self.windows_head}*"

    def window_patterns(self) -> tuple[str, str]:
        """SCAN patterns matching every windows sorted set, per event type and per breakdown value."""
        return self.windows_pattern(), f"{self.breakdown_head}*"

    def breakdown_properties(self, event_type: str) -> str:
        return f"{self.prefix}:registry:breakdown_properties:{event_type}"

    def breakdown_values(self, event_type: str, breakdown: str) -> str:
        return f"{self.prefix}:registry:breakdown_values:{event_type}:{breakdown}"

    def skipped_bucket(self, minute_start_ms: int) -> str:
        return f"{self.prefix}:skipped:{minute_start_ms}"

    @property
    def skipped_total(self) -> str:
        return f"{self.prefix}:skipped:total"

    @property
    def event_types(self) -> str:
        """Sorted set: event type -> newest window_end written for it."""
        return f"{self.prefix}:registry:event_types:last_end"

    @property
    def window_sizes(self) -> str:
        """Sorted set: window size -> newest window_end written for it."""
        return f"{self.prefix}:registry:window_sizes:last_end"

    @property
    def writer_status(self) -> str:
        """Hash written with every window: `last_write_ms`."""
        return f"{self.prefix}:writer"

    @property
    def admitted_event_types(self) -> str:
        """Sorted set: event type -> when track_service last accepted an event of it."""
        return f"{self.prefix}:admission:event_types"

    @property
    def dedup_head(self) -> str:
        """What the key of a remembered event_id starts with; the event_id follows."""
        return f"{self.prefix}:dedup:"

    def dedup(self, event_id: str) -> str:
        return f"{self.dedup_head}{event_id}"

    @property
    def dedup_attempt_head(self) -> str:
        """What the key of an attempt's state (`p` publishing, `d` published) starts with; the attempt follows."""
        return f"{self.prefix}:dedup-attempt:"

    def dedup_attempt(self, attempt: str) -> str:
        return f"{self.dedup_attempt_head}{attempt}"

    @property
    def updates_channel(self) -> str:
        return f"{self.prefix}:updates"


@dataclass(frozen=True)
class WindowKey:
    """One windows sorted set: its name, and the event type and window size its name carries."""

    name: str
    event_type: str
    window_size: str
    size_ms: int
    breakdown: str | None = None
    breakdown_value: str | None = None

    def last_closed_start_ms(self, now_ms: int, grace_ms: int) -> int:
        """The greatest window_start whose window is closed at `now_ms`."""
        return last_closed_start_ms(self.size_ms, now_ms, grace_ms)

    def lag_s(self, oldest_start_ms: int, now_ms: int, grace_ms: int) -> float:
        """How long ago the window starting at `oldest_start_ms` became closed (0 if not yet)."""
        return max(0.0, (now_ms - closes_at_ms(oldest_start_ms + self.size_ms, grace_ms)) / 1000)


def parse_window_key(name: str, keys: RedisKeys) -> WindowKey | None:
    """A name built by `keys.windows(...)` or `keys.breakdown_windows(...)` -> WindowKey; None for anything else."""
    breakdown: str | None = None
    value: str | None = None
    if name.startswith(keys.windows_head):
        event_type, sep, window_size = name[len(keys.windows_head):].rpartition(":")
        if not sep or ":" in event_type:
            return None
    elif name.startswith(keys.breakdown_head):
        parts = name[len(keys.breakdown_head):].split(":", 3)
        if len(parts) != 4 or not parts[2] or not parts[3]:
            return None
        event_type, window_size, breakdown, value = parts
    else:
        return None
    try:
        size_s = parse_duration_s(window_size)
    except ValueError:
        return None
    if not event_type:
        return None
    return WindowKey(name, event_type, window_size, size_s * 1000, breakdown, value)


# Upsert one window atomically: drop any member with the same window_start, add the new one, register
# the names with the newest window_end (ZADD GT) and prune those quiet for longer than the horizon, note
# the time of the write, refresh the TTL and publish.
# KEYS: zset, event_types, window_sizes, writer status (for a breakdown window: its property's values and its
# event type's properties instead of event_types and window_sizes).
# ARGV: window_start, member, event_type, window_size (breakdown value, property), ttl_s, channel, window_end,
# quiet_ms (0: never prune), now_ms. Lua numbers are doubles: epoch milliseconds are exact and print whole (%.14g).
UPSERT_WINDOW_LUA = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 'GT', ARGV[7], ARGV[3])
redis.call('ZADD', KEYS[3], 'GT', ARGV[7], ARGV[4])
if tonumber(ARGV[8]) > 0 then
  local quiet = '(' .. (tonumber(ARGV[7]) - tonumber(ARGV[8]))
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', quiet)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', quiet)
end
redis.call('HSET', KEYS[4], 'last_write_ms', ARGV[9])
if tonumber(ARGV[5]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[5])
end
redis.call('PUBLISH', ARGV[6], ARGV[2])
return 1
"""
DEFAULT_QUIET_S = 3600

# The same upsert, unless the window already holds the same figures (count, unique users and, to rounding,
# total_value): what the job's final branch writes when ALLOWED_LATENESS_S is set, so that only a window a late
# event changed is written and published again. Same KEYS and ARGV; returns 0 when it left the window as it was.
CORRECT_WINDOW_LUA = """
local current = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])
if #current == 1 then
  local old, new = cjson.decode(current[1]), cjson.decode(ARGV[2])
  local a, b = old['total_value'], new['total_value']
  if old['count'] == new['count'] and old['unique_users'] == new['unique_users']
      and type(a) == 'number' and type(b) == 'number'
      and math.abs(a - b) <= 1e-9 * math.max(1, math.abs(b)) then
    return 0
  end
end
""" + UPSERT_WINDOW_LUA


def upsert_window_call(
    keys: RedisKeys, window: WindowMetrics, ttl_s: int, quiet_s: int = DEFAULT_QUIET_S, now_ms: int | None = None
) -> tuple[list[str], list[str | int]]:
    """KEYS and ARGV of UPSERT_WINDOW_LUA for one window (written now, unless `now_ms` says otherwise)."""
    if window.breakdown is not None and window.breakdown_value is not None:
        registries = [keys.breakdown_values(window.event_type, window.breakdown),
                      keys.breakdown_properties(window.event_type)]
        names = [window.breakdown_value, window.breakdown]
    else:
        registries, names = [keys.event_types, keys.window_sizes], [window.event_type, window.window_size]
    return (
        [keys.series(window), *registries, keys.writer_status],
        [window.window_start, window.to_json(), *names, ttl_s, keys.updates_channel,
         window.window_end, quiet_s * 1000, int(time.time() * 1000) if now_ms is None else now_ms],
    )


def upsert_windows(
    client: Any, keys: RedisKeys, windows: Iterable[WindowMetrics], ttl_s: int = 0, quiet_s: int = DEFAULT_QUIET_S
) -> None:
    """Write windows exactly as the Flink job does, pipelined (a sync redis-py client)."""
    script = client.register_script(UPSERT_WINDOW_LUA)
    pipe = client.pipeline(transaction=False)
    for window in windows:
        script_keys, args = upsert_window_call(keys, window, ttl_s, quiet_s)
        script(keys=script_keys, args=args, client=pipe)
    pipe.execute()


# The ledger of skipped records: how many the job skipped, per reason and event type, per minute.
SKIPPED_BUCKET_MS = 60_000
SKIPPED_BUCKET_TTL_S = 2 * 86_400
NO_EVENT_TYPE = "-"

# Add a count to one minute's bucket and to the totals. KEYS: bucket, total. ARGV: field, count, ttl_s.
COUNT_SKIPPED_LUA = """
redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[2])
return 1
"""


@dataclass(frozen=True)
class SkippedCount:
    reason: str
    event_type: str | None
    count: int

    @property
    def field(self) -> str:
        return f"{self.reason}:{self.event_type or NO_EVENT_TYPE}"


def count_skipped_call(keys: RedisKeys, counted_at_ms: int, skipped: SkippedCount) -> tuple[list[str], list[str | int]]:
    """KEYS and ARGV of COUNT_SKIPPED_LUA for `skipped`, counted in the minute of `counted_at_ms`."""
    bucket = keys.skipped_bucket(counted_at_ms - counted_at_ms % SKIPPED_BUCKET_MS)
    return [bucket, keys.skipped_total], [skipped.field, skipped.count, SKIPPED_BUCKET_TTL_S]


def parse_skipped(fields: Mapping[str, str | int]) -> list[SkippedCount]:
    """A skipped hash (bucket or totals) as counts; a malformed field is ignored."""
    counts = []
    for field, count in fields.items():
        reason, sep, event_type = field.partition(":")
        if sep and reason and event_type and str(count).lstrip("-").isdigit():
            counts.append(SkippedCount(reason, None if event_type == NO_EVENT_TYPE else event_type, int(count)))
    return counts


def skipped_bucket_keys(keys: RedisKeys, since_ms: int, now_ms: int) -> list[str]:
    """The minute buckets covering [since_ms, now_ms]."""
    first = since_ms - since_ms % SKIPPED_BUCKET_MS
    return [keys.skipped_bucket(start) for start in range(first, now_ms + 1, SKIPPED_BUCKET_MS)]
