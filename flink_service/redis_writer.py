"""The Python end of the job: writes each window result, and the ledger of skipped records, to Redis.

Flink scalar functions whose side effect is the point; their results go to blackhole sinks, whose
`numRecordsIn` metrics count the calls. Window writes are idempotent upserts (one Lua call per
window), so a window replayed after a failure replaces its entry instead of adding a second one.
The ledger's counts are increments: after a failure, the records replayed since the last checkpoint
are counted again (at least once).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pyflink.table import DataTypes
from pyflink.table.udf import FunctionContext, ScalarFunction

from contracts.events import now_ms
from contracts.redis_keys import (
    CORRECT_WINDOW_LUA,
    COUNT_SKIPPED_LUA,
    DEFAULT_QUIET_S,
    UPSERT_WINDOW_LUA,
    RedisKeys,
    SkippedCount,
    count_skipped_call,
    upsert_window_call,
)
from contracts.window_results import WindowMetrics

_EPOCH = datetime(1970, 1, 1)


def to_epoch_ms(window_time: datetime) -> int:
    """Window bounds come as naive datetimes in the job's session time zone, which is UTC."""
    return (window_time.replace(tzinfo=None) - _EPOCH) // timedelta(milliseconds=1)


def window_metrics(
    event_type: str, window_size: str, window_start: datetime, window_end: datetime,
    count: int, total_value: float, unique_users: int, p50: float, p95: float, p99: float,
    breakdown: str | None = None, breakdown_value: str | None = None,
) -> WindowMetrics:
    """A row of flink_service.sql.WINDOW_RESULT_COLUMNS as a window result."""
    return WindowMetrics(
        window_start=to_epoch_ms(window_start),
        window_end=to_epoch_ms(window_end),
        count=int(count),
        total_value=float(total_value),
        unique_users=int(unique_users),
        event_type=event_type,
        window_size=window_size,
        p50=p50,
        p95=p95,
        p99=p99,
        breakdown=breakdown,
        breakdown_value=breakdown_value,
    )


class RedisScript(ScalarFunction):  # type: ignore[misc]
    """A scalar function that runs one Lua script of contracts/redis_keys.py per call."""

    script = ""

    def __init__(self, redis_url: str, key_prefix: str) -> None:
        self.redis_url = redis_url
        self.keys = RedisKeys(key_prefix)
        self._client: Any = None
        self._run: Any = None

    def open(self, function_context: FunctionContext) -> None:
        import redis

        self._client = redis.Redis.from_url(self.redis_url, socket_timeout=10, health_check_interval=30)
        self._run = self._client.register_script(self.script)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def is_deterministic(self) -> bool:
        return False


class RedisWindowWriter(RedisScript):
    script = UPSERT_WINDOW_LUA

    def __init__(
        self, redis_url: str, key_prefix: str, ttl_s: int, print_results: bool, quiet_s: int = DEFAULT_QUIET_S
    ) -> None:
        super().__init__(redis_url, key_prefix)
        self.ttl_s = ttl_s
        self.quiet_s = quiet_s
        self.print_results = print_results

    def eval(self, *columns: Any) -> int:
        metrics = window_metrics(*columns)
        script_keys, args = upsert_window_call(self.keys, metrics, self.ttl_s, self.quiet_s)
        written = self._run(keys=script_keys, args=args)
        if self.print_results and written:
            # PyFlink swaps print() for one that logs to the TaskManager's log; it takes no `flush`.
            print(metrics.to_json())
        return 1


class RedisWindowCorrector(RedisWindowWriter):
    """The final branch's writer (ALLOWED_LATENESS_S): writes a window again only when a late event changed it."""

    script = CORRECT_WINDOW_LUA


class RedisSkippedCounter(RedisScript):
    """Adds a count of skipped records (per event type and reason) to the ledger, in the current minute."""

    script = COUNT_SKIPPED_LUA

    def eval(self, event_type: str | None, reason: str, skipped: int) -> int:
        script_keys, args = count_skipped_call(self.keys, now_ms(), SkippedCount(reason, event_type, int(skipped)))
        self._run(keys=script_keys, args=args)
        return 1


WRITER_RESULT_TYPE = DataTypes.INT()
