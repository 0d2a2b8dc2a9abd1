"""Reading window results: the Redis layout of `contracts.redis_keys` and the PostgreSQL history table.

Pure merging logic (`merge_newest_first`) is kept apart from the I/O so it can be tested on its own.
The answers of /metrics, /metrics/realtime and /metrics/history are read as `Entry` structs (msgspec), not
pydantic models: decoding members, reading rows with epoch milliseconds computed by PostgreSQL, and encoding
the answer are then C-level work (profiled: building a `WindowMetrics` per history row was a quarter of a
request's time).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

import msgspec
import redis.asyncio as aioredis
from pydantic import ValidationError

from contracts.history import METRICS_TABLE, WINDOW_COLUMNS_SQL, ms_to_datetime, row_to_window
from contracts.redis_keys import RedisKeys, SkippedCount, parse_skipped, skipped_bucket_keys
from contracts.window_results import WindowMetrics
from contracts.windows import is_closed, last_closed_start_ms, parse_duration_s

log = logging.getLogger(__name__)
# A series of one value of a breakdown property: (property, value); None: the event type's own series.
Breakdown = tuple[str, str] | None
# An answer's entry columns in Entry's order, window_start as epoch milliseconds.
ENTRY_COLUMNS_SQL = (
    "(extract(epoch FROM window_start) * 1000)::bigint AS window_start, count, total_value, unique_users, "
    "p50, p95, p99"
)
# A series' windows in a time range, newest first, at most $5 ($1 event type, $2 size, $3/$4 the range, $6/$7
# the breakdown). It orders by the table's column, not the epoch-ms alias of the same name: the primary key
# read backwards until the limit, instead of a sort of the whole series.
SERIES_RANGE_SQL = (
    f"SELECT {ENTRY_COLUMNS_SQL} FROM {METRICS_TABLE} "
    "WHERE event_type = $1 AND window_size = $2 AND breakdown = $6 AND breakdown_value = $7 "
    "AND window_start >= $3 AND window_start < $4 "
    f"ORDER BY {METRICS_TABLE}.window_start DESC LIMIT $5"
)

# Open-ended history bounds, as timestamptz values asyncpg can encode.
FAR_PAST_MS = 0
FAR_FUTURE_MS = 253_402_300_799_000  # 9999-12-31T23:59:59Z


def parse_members(members: Iterable[str]) -> list[WindowMetrics]:
    """Sorted-set members -> windows; a malformed member is logged and skipped, not a 500."""
    windows = []
    for member in members:
        try:
            windows.append(WindowMetrics.from_json(member))
        except (ValueError, ValidationError):
            log.warning("skipping malformed window member %r", member[:200])
    return windows


class Entry(msgspec.Struct, omit_defaults=True):
    """One window of an answer, `contracts.window_results.MetricsEntry` field for field: the percentiles are
    left out while unset (a window written before they were kept). msgspec writes a non-finite
    `total_value` as null, as every output must."""

    window_start: int
    count: int
    total_value: float | None
    unique_users: int
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None


_decode_entry = msgspec.json.Decoder(Entry).decode
_encode = msgspec.json.Encoder().encode


def parse_entries(members: Iterable[str]) -> list[Entry]:
    """Sorted-set members -> entries; one msgspec refuses (NaN or Infinity of an older writer, garbage) is
    judged by the model: kept with a null sum, or logged and skipped."""
    entries = []
    for member in members:
        try:
            entries.append(_decode_entry(member))
        except (msgspec.DecodeError, msgspec.ValidationError):
            entries.extend(Entry(**window.to_entry()) for window in parse_members([member]))
    return entries


def answer_body(event_type: str, window_size: str, entries: list[Entry], **additions: Any) -> bytes:
    """The seed's response body (`contracts.window_results.metrics_response`'s shape), and any additions, encoded."""
    return _encode({"event_type": event_type, "window_size": window_size, "entries": entries, **additions})


class HasStart(Protocol):
    @property
    def window_start(self) -> int: ...


WindowT = TypeVar("WindowT", bound=HasStart)


def merge_newest_first(older: list[WindowT], newer: list[WindowT], limit: int) -> list[WindowT]:
    """Union by window_start, `newer` winning a tie (Redis holds the latest value), newest first."""
    by_start = {window.window_start: window for window in older}
    by_start.update((window.window_start, window) for window in newer)
    return sorted(by_start.values(), key=lambda window: window.window_start, reverse=True)[:limit]


class RealtimeStore:
    """Window results in Redis."""

    def __init__(self, client: aioredis.Redis, keys: RedisKeys) -> None:
        self.client = client
        self.keys = keys

    def _series(self, event_type: str, window_size: str, breakdown: Breakdown) -> str:
        if breakdown is None:
            return self.keys.windows(event_type, window_size)
        return self.keys.breakdown_windows(event_type, window_size, *breakdown)

    async def newest(self, event_type: str, window_size: str, limit: int, breakdown: Breakdown = None) -> list[Entry]:
        """The newest windows of a series: an event type's, or one value's of a breakdown property."""
        members = await self.client.zrevrange(self._series(event_type, window_size, breakdown), 0, limit - 1)
        return parse_entries(members)

    async def closed_between(
        self, event_type: str, window_size: str, start_ms: int, end_ms: int, now_ms: int, limit: int,
        breakdown: Breakdown = None,
    ) -> list[Entry]:
        """Windows with start_ms <= window_start < end_ms that have closed by now_ms (no grace), newest first."""
        size_ms = parse_duration_s(window_size) * 1000
        last_closed_start = last_closed_start_ms(size_ms, now_ms)
        upper = min(end_ms - 1, last_closed_start)  # both bounds inclusive in ZRANGEBYSCORE
        if upper < start_ms:
            return []
        members = await self.client.zrevrangebyscore(
            self._series(event_type, window_size, breakdown), upper, start_ms, start=0, num=limit
        )
        return [entry for entry in parse_entries(members) if is_closed(entry.window_start + size_ms, now_ms)]

    async def event_types(self) -> list[str]:
        """The live event types (the writer prunes those quiet for EVENT_TYPE_QUIET_S), sorted."""
        return sorted(await self.client.zrange(self.keys.event_types, 0, -1))

    async def window_sizes(self) -> list[str]:
        """The live window sizes, shortest first."""
        return sorted(await self.client.zrange(self.keys.window_sizes, 0, -1), key=parse_duration_s)

    async def latest_of(self, event_types: list[str], window_size: str) -> list[WindowMetrics]:
        """The newest window in Redis of each of `event_types` (none for a type without one), in one round trip."""
        if not event_types:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            for name in event_types:
                pipe.zrevrange(self.keys.windows(name, window_size), 0, 0)
            replies: list[list[str]] = await pipe.execute()
        return parse_members(member for reply in replies for member in reply)

    async def latest_per_series(
        self, event_type: str | None, window_size: str | None, breakdown: str | None = None
    ) -> list[WindowMetrics]:
        """The newest window of every known (event_type, window_size), narrowed by the optional filters; with
        `breakdown`, of every known value of that property instead."""
        event_types = [event_type] if event_type else await self.event_types()
        window_sizes = [window_size] if window_size else await self.window_sizes()
        if breakdown is None:
            series = [self.keys.windows(name, size) for name in event_types for size in window_sizes]
        else:
            series = [self.keys.breakdown_windows(name, size, breakdown, value)
                      for name in event_types for value in await self.breakdown_values(name, breakdown)
                      for size in window_sizes]
        if not series:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            for key in series:
                pipe.zrevrange(key, 0, 0)
            replies: list[list[str]] = await pipe.execute()
        return parse_members(member for reply in replies for member in reply)

    async def breakdown_values(self, event_type: str, breakdown: str) -> list[str]:
        """The live values of a breakdown property for one event type (pruned like event types), sorted."""
        return sorted(await self.client.zrange(self.keys.breakdown_values(event_type, breakdown), 0, -1))

    async def breakdown_properties(self) -> dict[str, list[str]]:
        """Each live event type's live breakdown properties (pruned like event types), sorted; types without any
        are left out. One round trip."""
        event_types = await self.event_types()
        if not event_types:
            return {}
        async with self.client.pipeline(transaction=False) as pipe:
            for name in event_types:
                pipe.zrange(self.keys.breakdown_properties(name), 0, -1)
            replies: list[list[str]] = await pipe.execute()
        return {name: sorted(found) for name, found in zip(event_types, replies, strict=True) if found}

    async def skipped_between(self, start_ms: int, now_ms: int) -> list[SkippedCount]:
        """The ledger's counts of the minutes from start_ms to now, summed per (reason, event type), largest first."""
        async with self.client.pipeline(transaction=False) as pipe:
            for key in skipped_bucket_keys(self.keys, start_ms, now_ms):
                pipe.hgetall(key)
            buckets: list[dict[str, str]] = await pipe.execute()
        totals: Counter[tuple[str, str | None]] = Counter()
        for bucket in buckets:
            for skipped in parse_skipped(bucket):
                totals[(skipped.reason, skipped.event_type)] += skipped.count
        return [SkippedCount(reason, event_type, count) for (reason, event_type), count in totals.most_common()]


class HistoryStore:
    """Synced window results in the PostgreSQL `metrics` table (an asyncpg pool on the right schema)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def breakdown_values(
        self, event_type: str, window_size: str, breakdown: str, start_ms: int, end_ms: int
    ) -> list[str]:
        """The values of a breakdown property with synced windows in the range."""
        rows = await self.pool.fetch(
            f"SELECT DISTINCT breakdown_value FROM {METRICS_TABLE} WHERE event_type = $1 AND window_size = $2 "
            "AND breakdown = $3 AND window_start >= $4 AND window_start < $5",
            event_type, window_size, breakdown, ms_to_datetime(start_ms), ms_to_datetime(end_ms),
        )
        return [row[0] for row in rows]

    async def between(
        self, event_type: str, window_size: str, start_ms: int, end_ms: int, limit: int, breakdown: Breakdown = None
    ) -> list[Entry]:
        """Synced windows of a series with start_ms <= window_start < end_ms, newest first (epoch ms computed in
        SQL); '' in the breakdown columns is the event type's own series."""
        rows = await self.pool.fetch(
            SERIES_RANGE_SQL,
            event_type,
            window_size,
            ms_to_datetime(start_ms),
            ms_to_datetime(end_ms),
            limit,
            *(breakdown or ("", "")),
        )
        return [Entry(*row) for row in rows]

    async def latest_of(self, event_types: list[str], window_size: str) -> list[WindowMetrics]:
        """The newest synced window of each of `event_types`: one index lookup per type, one query."""
        if not event_types:
            return []
        rows = await self.pool.fetch(
            f"SELECT m.* FROM unnest($1::text[]) AS t(event_type) CROSS JOIN LATERAL ("
            f"SELECT {WINDOW_COLUMNS_SQL} FROM {METRICS_TABLE} "
            "WHERE event_type = t.event_type AND window_size = $2 AND breakdown = '' AND breakdown_value = '' "
            "ORDER BY window_start DESC LIMIT 1) AS m",
            event_types,
            window_size,
        )
        return [row_to_window(row) for row in rows]


def newest_by_volume(windows: Iterable[WindowMetrics]) -> list[WindowMetrics]:
    """The types with the newest window first, by count within one window_start, then by name."""
    return sorted(windows, key=lambda window: (-window.window_start, -window.count, window.event_type))
