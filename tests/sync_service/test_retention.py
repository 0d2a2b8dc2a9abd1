"""Retention of the history tiers against the real PostgreSQL: exactly the rows past their tier's retention go,
in bounded batches, counted; the sync cycle goes on while a retention batch waits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import redis

from contracts.events import now_ms
from contracts.history import quote_ident
from contracts.redis_keys import RedisKeys, upsert_windows
from contracts.window_results import WindowMetrics
from contracts.windows import parse_duration_s
from harness.infra import Infra
from harness.stores import insert_history, read_rows
from harness.waiting import wait_until
from harness.windows import make_window
from sync_service.retention import RetentionTask
from sync_service.settings import Settings
from sync_service.worker import SyncWorker
from tests.sync_service.fixtures import PAST_MS

NOW_MS = 1_800_000_000_000  # a fixed "now" for the retention's cutoffs
DAY_MS = 86_400_000
RETENTION = {"30s": 7, "1m": 30, "1h": 730}  # days; 5m is left out: kept forever
BATCH = 7


def window(
    label: str, age_ms: int, event_type: str = "click", breakdown: tuple[str, str] | None = None
) -> WindowMetrics:
    """A window of size `label` starting `age_ms` before NOW_MS."""
    made = make_window(event_type, NOW_MS - age_ms, size_s=parse_duration_s(label))
    if breakdown is None:
        return made
    return made.model_copy(update={"breakdown": breakdown[0], "breakdown_value": breakdown[1]})


def rows_around_the_cutoffs() -> tuple[list[WindowMetrics], list[WindowMetrics]]:
    """(past retention, kept): per tier, windows 1 ms to days past its cutoff and at or within it, of two event
    types and a breakdown value; the 5m tier's, however old, are kept."""
    past, kept = [], []
    for label, days in RETENTION.items():
        cutoff_age = days * DAY_MS
        for event_type in ("click", "view"):
            for breakdown in (None, ("country", "DE")):
                past += [window(label, cutoff_age + extra, event_type, breakdown)
                         for extra in (1, 1000, 3_600_000, 40 * DAY_MS)]
                kept += [window(label, cutoff_age - extra, event_type, breakdown) for extra in (0, 1000, DAY_MS)]
    kept += [window("5m", age) for age in (DAY_MS, 800 * DAY_MS, 3000 * DAY_MS)]
    return past, kept


def settings_for(infra: Infra, schema: str, prefix: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        **{name.lower(): value for name, value in infra.service_env().items()},
        "postgres_schema": schema, "redis_key_prefix": prefix, "sync_metrics_port": 0, "sync_grace_s": 0,
        "window_specs": "30s/10s,1m/1m,5m/5m,1h/1h",
        "history_retention": ",".join(f"{label}={days}d" for label, days in RETENTION.items()),
        "sync_retention_batch_size": BATCH, "sync_retention_interval_s": 3600,
    }
    return Settings(**{**values, **overrides})


async def write_rows(dsn: str, schema: str, windows: list[WindowMetrics]) -> None:
    await asyncio.to_thread(insert_history, dsn, schema, windows)


@pytest.fixture
async def worker(infra: Infra, pg_schema: str, redis_keys: RedisKeys) -> AsyncIterator[SyncWorker]:
    sync_worker = SyncWorker(settings_for(infra, pg_schema, redis_keys.prefix))
    yield sync_worker
    await sync_worker.close()


def identities(windows: list[WindowMetrics]) -> list[tuple[str, str, int, str | None, str | None]]:
    return sorted(window.identity for window in windows)


async def test_exactly_the_rows_past_retention_are_deleted_in_batches(
    worker: SyncWorker, infra: Infra, pg_schema: str
) -> None:
    past, kept = rows_around_the_cutoffs()
    await write_rows(infra.postgres_dsn, pg_schema, past + kept)

    report = await worker.retention.run_once(NOW_MS)

    assert identities(await read_rows(infra.postgres_dsn, pg_schema)) == identities(kept)
    per_size = {label: sum(1 for w in past if w.window_size == label) for label in RETENTION}
    assert report.deleted == per_size == {"30s": 16, "1m": 16, "1h": 16}
    # 16 rows in batches of 7: 7, 7, 2 per tier; every batch is counted, and the rows per window size.
    assert report.batches == 9
    prometheus = worker.prometheus
    assert prometheus.retention_batches._value.get() == 9
    for label, rows in per_size.items():
        assert prometheus.retention_rows_deleted.labels(window_size=label)._value.get() == rows
    assert "retention deleted=48 batches=9 by_size=30s:16,1m:16,1h:16" in report.log_line()

    again = await worker.retention.run_once(NOW_MS)
    assert (sum(again.deleted.values()), again.batches) == (0, 3)  # one empty batch per tier with a retention
    assert identities(await read_rows(infra.postgres_dsn, pg_schema)) == identities(kept)


async def test_a_full_last_batch_is_followed_by_an_empty_one(worker: SyncWorker, infra: Infra, pg_schema: str) -> None:
    old = [window("30s", 8 * DAY_MS + i * 10_000) for i in range(2 * BATCH)]
    await write_rows(infra.postgres_dsn, pg_schema, old)
    report = await worker.retention.run_once(NOW_MS)
    assert report.deleted["30s"] == 2 * BATCH
    assert report.batches == 3 + 2  # 30s: 7, 7, 0; 1m and 1h: one empty batch each
    assert await read_rows(infra.postgres_dsn, pg_schema) == []


async def wait_for_lock_wait(observer: asyncpg.Connection, retention: RetentionTask, timeout_s: float = 30) -> None:
    """Until the retention's connection waits for a lock (pg_stat_activity says so)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        conn = retention._conn
        if conn is not None and await observer.fetchval(
            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", conn.get_server_pid()
        ):
            return
        assert asyncio.get_running_loop().time() < deadline, "the retention's DELETE never waited for the lock"
        await asyncio.sleep(0.05)


async def test_the_sync_cycle_goes_on_while_a_retention_batch_waits(
    worker: SyncWorker, infra: Infra, pg_schema: str, redis_client: redis.Redis, redis_keys: RedisKeys
) -> None:
    """A row past retention is locked by another transaction: the retention's DELETE waits on it, and meanwhile
    the sync worker (its own connection) moves new windows from Redis to PostgreSQL."""
    past = [window("30s", 8 * DAY_MS + i * 10_000) for i in range(3)]
    await write_rows(infra.postgres_dsn, pg_schema, past)
    table = f"{quote_ident(pg_schema)}.metrics"
    locker = await asyncpg.connect(infra.postgres_dsn)
    transaction = locker.transaction()
    await transaction.start()
    await locker.execute(f"SELECT 1 FROM {table} WHERE window_size = '30s' FOR UPDATE")
    retention = asyncio.ensure_future(worker.retention.run_once(NOW_MS))
    try:
        fresh = [make_window("click", PAST_MS + i * 10_000) for i in range(5)]
        upsert_windows(redis_client, redis_keys, fresh)
        await wait_for_lock_wait(locker, worker.retention)
        report = await worker.run_cycle()
        assert report.synced == 5
        assert not retention.done(), "the retention run should still wait for the locked row"
    finally:
        await transaction.rollback()
        await locker.close()
    assert (await retention).deleted["30s"] == 3
    assert identities(await read_rows(infra.postgres_dsn, pg_schema)) == identities(fresh)


async def test_the_worker_runs_retention_beside_its_cycles_and_stops_with_it(
    infra: Infra, pg_schema: str, redis_keys: RedisKeys
) -> None:
    now = now_ms()
    old = [make_window("click", now - 8 * DAY_MS - i * 10_000) for i in range(10)]
    recent = [make_window("click", now - DAY_MS - i * 10_000) for i in range(3)]
    await write_rows(infra.postgres_dsn, pg_schema, old + recent)
    worker = SyncWorker(settings_for(infra, pg_schema, redis_keys.prefix, sync_interval_s=0.2))
    deleted = worker.prometheus.retention_rows_deleted.labels(window_size="30s")
    running = asyncio.ensure_future(worker.run())
    try:
        await asyncio.to_thread(wait_until, lambda: deleted._value.get() == len(old), 30, "the retention run at start")
    finally:
        worker.request_stop()
        await asyncio.wait_for(running, 30)
        await worker.close()
    assert identities(await read_rows(infra.postgres_dsn, pg_schema)) == identities(recent)
    assert worker.prometheus.retention_last_run._value.get() > 0
