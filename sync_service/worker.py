"""The sync loop: every cycle drains the closed windows from Redis into PostgreSQL, batch by batch.

A batch is read -> COPY + upsert -> commit -> ZREM of exactly the members read. The delete comes only
after the commit, so a crash anywhere leaves each window either still in Redis (synced again by the
next run: the upsert makes that harmless) or in PostgreSQL and gone from Redis; never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import asyncpg
import redis.exceptions
from redis.asyncio import Redis
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from contracts.events import now_ms
from contracts.redis_keys import RedisKeys, WindowKey
from contracts.waiting import backoff
from sync_service.closing import Batch, plan_batch
from sync_service.crash_points import PointHook, crash_hook
from sync_service.postgres_store import MetricsStore
from sync_service.prometheus import SyncPrometheus
from sync_service.redis_source import (
    delete_members,
    member_score,
    oldest_closed_start_ms,
    read_closed,
    scan_window_keys,
)
from sync_service.retention import RetentionTask
from sync_service.settings import Settings

log = logging.getLogger("sync_service")

# Retrying cannot fix these: stop with one clear line instead.
_FATAL_ERRORS: dict[type[BaseException], str] = {
    asyncpg.InvalidPasswordError: "PostgreSQL rejected the login: check POSTGRES_USER and POSTGRES_PASSWORD",
    asyncpg.InvalidAuthorizationSpecificationError: "PostgreSQL rejected the login: check POSTGRES_USER",
    asyncpg.InvalidCatalogNameError: "the PostgreSQL database does not exist: check POSTGRES_DB",
    redis.exceptions.AuthenticationError: "Redis rejected the login: check REDIS_PASSWORD",
}


class FatalSyncError(RuntimeError):
    """A configuration problem retrying cannot fix."""


@dataclass
class CycleReport:
    keys: int = 0
    batches: int = 0
    read: int = 0
    synced: int = 0
    stale: int = 0
    invalid: int = 0
    lag_s: float = 0.0
    duration_s: float = 0.0

    def log_line(self) -> str:
        return (
            f"cycle keys={self.keys} batches={self.batches} read={self.read} synced={self.synced} "
            f"stale={self.stale} invalid={self.invalid} lag_s={self.lag_s:.1f} "
            f"duration_ms={self.duration_s * 1000:.0f}"
        )


def failing_side(error: BaseException | None) -> str:
    """redis-py wraps every Redis failure (socket errors included) in RedisError; the rest is PostgreSQL."""
    return "redis" if isinstance(error, redis.exceptions.RedisError) else "postgres"


def fatal_reason(error: BaseException) -> str | None:
    for error_type, reason in _FATAL_ERRORS.items():
        if isinstance(error, error_type):
            return reason
    return None


def _retryable(error: BaseException) -> bool:
    """Any failure of a cycle but a configuration problem (and never a cancellation)."""
    return isinstance(error, Exception) and fatal_reason(error) is None


async def _no_hook(point: str) -> None:
    return None


class SyncWorker:
    def __init__(self, settings: Settings, hook: PointHook | None = None) -> None:
        self.settings = settings
        self.keys = RedisKeys(prefix=settings.redis_key_prefix)
        # A window is moved once it can no longer change: the job may correct it until ALLOWED_LATENESS_S after
        # its end (plus the watermark delay, which SYNC_GRACE_S covers).
        self.grace_ms = round((settings.sync_grace_s + settings.allowed_lateness_s) * 1000)
        self.store = MetricsStore(settings.postgres_dsn, settings.postgres_schema)
        self.prometheus = SyncPrometheus()
        self.hook: PointHook = hook or crash_hook(settings.sync_crash_at) or _no_hook
        self.stop_requested = asyncio.Event()
        self.redis = self._new_redis()
        self.retention = RetentionTask(settings, self.prometheus, self.stop_requested)

    def _new_redis(self) -> Redis:
        s = self.settings
        return Redis(
            host=s.redis_host, port=s.redis_port, password=s.redis_password or None, db=s.redis_db,
            decode_responses=True, socket_timeout=10, socket_connect_timeout=5,
        )

    def request_stop(self) -> None:
        self.stop_requested.set()

    async def close(self) -> None:
        await self.store.close()
        await self.retention.close()
        await self.redis.aclose()

    async def _reset_connections(self) -> None:
        await self.store.close()
        with contextlib.suppress(Exception):
            await self.redis.aclose()
        self.redis = self._new_redis()

    async def run_cycle(self) -> CycleReport:
        """Sync every window closed at the start of the cycle, in batches, unless a stop is requested."""
        started = time.monotonic()
        now = now_ms()
        report = CycleReport()
        if not self.store.connected:
            await self.store.connect()
        window_keys = await scan_window_keys(self.redis, self.keys)
        report.keys = len(window_keys)
        # Per key, the exclusive lower score bound of the next read: what a batch left behind
        # (rewritten or invalid members) waits for the next cycle instead of being read again now.
        pending = {key: "-inf" for key in window_keys}
        # The next batch is read from Redis while the current one is written to PostgreSQL: reading
        # changes nothing, so every crash point keeps its meaning (see docs/benchmarks/sync.md).
        next_read: asyncio.Task[list[tuple[str, str]]] | None = asyncio.ensure_future(
            self._read_batch(pending, now)
        )
        try:
            while next_read is not None and not self.stop_requested.is_set():
                entries = await next_read
                next_read = None
                if not entries:
                    break
                if pending:
                    next_read = asyncio.ensure_future(self._read_batch(pending, now))
                await self._sync_batch(plan_batch(entries), report)
        finally:
            if next_read is not None:
                next_read.cancel()
                with contextlib.suppress(BaseException):
                    await next_read
        report.lag_s = await self._lag_s(window_keys)
        report.duration_s = time.monotonic() - started
        self.prometheus.lag_seconds.set(report.lag_s)
        self.prometheus.cycle_seconds.set(report.duration_s)
        self.prometheus.last_success.set(time.time())
        return report

    async def _read_batch(self, pending: dict[WindowKey, str], now: int) -> list[tuple[str, str]]:
        entries: list[tuple[str, str]] = []
        for key in list(pending):
            room = self.settings.sync_batch_size - len(entries)
            if room == 0:
                break
            members = await read_closed(
                self.redis, key, pending[key], key.last_closed_start_ms(now, self.grace_ms), room
            )
            entries.extend((key.name, member) for member in members)
            last_score = await member_score(self.redis, key.name, members[-1]) if len(members) == room else None
            if last_score is None:
                # Drained (or the last member just changed): the rest waits for the next cycle.
                del pending[key]
            else:
                pending[key] = f"({last_score}"
        return entries

    async def _sync_batch(self, batch: Batch, report: CycleReport) -> None:
        await self.hook("after_read")
        report.batches += 1
        report.read += batch.read
        if batch.invalid:
            report.invalid += len(batch.invalid)
            self.prometheus.invalid_entries.inc(len(batch.invalid))
            key, member = batch.invalid[0]
            log.warning("%d invalid member(s) left in Redis, e.g. in %s: %.200s", len(batch.invalid), key, member)
        if not batch.rows:
            return
        await self.store.upsert(batch.rows, self.hook)
        await self.hook("after_commit")
        removed = 0
        for position, (key_name, members) in enumerate(batch.members_by_key.items()):
            removed += await delete_members(self.redis, key_name, members)
            if position == 0:
                await self.hook("mid_delete")
        report.synced += removed
        report.stale += len(batch.rows) - removed
        self.prometheus.rows_synced.inc(removed)
        self.prometheus.stale_entries.inc(len(batch.rows) - removed)

    async def _lag_s(self, window_keys: list[WindowKey]) -> float:
        now = now_ms()
        lag = 0.0
        for key in window_keys:
            oldest = await oldest_closed_start_ms(self.redis, key, key.last_closed_start_ms(now, self.grace_ms))
            if oldest is not None:
                lag = max(lag, key.lag_s(oldest, now, self.grace_ms))
        return lag

    async def _update_lag_quietly(self) -> None:
        """Keep the lag gauge growing while PostgreSQL is down (Redis may still answer)."""
        with contextlib.suppress(Exception):
            keys = await scan_window_keys(self.redis, self.keys)
            self.prometheus.lag_seconds.set(await self._lag_s(keys))

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop_requested.wait(), seconds)

    async def run(self) -> None:
        """Cycle until a stop is requested; back off and retry while Redis or PostgreSQL fails."""
        s = self.settings
        log.info(
            "sync worker started: prefix=%s schema=%s interval_s=%s grace_s=%s batch_size=%d",
            self.keys.prefix, s.postgres_schema, s.sync_interval_s, s.sync_grace_s, s.sync_batch_size,
        )
        # Beside the cycles, on its own connection: a long retention run never holds a cycle up.
        retention = asyncio.ensure_future(self.retention.run()) if s.sync_retention_interval_s else None
        try:
            while (report := await self._cycle_with_retries()) is not None:
                log.info(report.log_line())
                await self._pause(s.sync_interval_s)
        finally:
            self.stop_requested.set()
            if retention is not None:
                await retention  # it stops after the batch in flight
        log.info("sync worker stopped")

    async def _cycle_with_retries(self) -> CycleReport | None:
        """One cycle, retried with capped backoff while Redis or PostgreSQL fails; None once a stop is requested."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(_retryable),
            wait=backoff(self.settings.sync_backoff_initial_s, self.settings.sync_backoff_max_s),
            stop=lambda _: self.stop_requested.is_set(),
            before_sleep=self._after_failure,
            sleep=self._pause,
            retry_error_callback=lambda _: None,
        )
        try:
            report: CycleReport | None = await retrying(self._cycle_unless_stopping)
        except Exception as error:
            reason = fatal_reason(error)  # the errors not retried
            if reason is None:
                raise
            raise FatalSyncError(f"{reason} ({error})") from error
        if report is not None and retrying.statistics["attempt_number"] > 1:
            log.info("recovered after %d failed attempt(s)", retrying.statistics["attempt_number"] - 1)
        return report

    async def _cycle_unless_stopping(self) -> CycleReport | None:
        return None if self.stop_requested.is_set() else await self.run_cycle()

    async def _after_failure(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        stage = failing_side(error)
        self.prometheus.errors.labels(stage=stage).inc()
        log.warning(
            "cycle failed: %s unavailable or failing (attempt %d, retrying in %.1fs): %s: %s",
            stage, state.attempt_number, state.upcoming_sleep, type(error).__name__,
            str(error)[:300] or "no detail",
        )
        await self._reset_connections()
        await self._update_lag_quietly()
