"""Fixtures of the sync worker tests: seeded windows, worker settings and worker processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from contracts.events import now_ms
from contracts.redis_keys import RedisKeys
from contracts.window_results import WindowMetrics
from harness.infra import Infra
from harness.services import ServiceProcess, stop_all
from harness.stores import window_members
from harness.windows import make_window
from sync_service.settings import Settings

# A fixed past hour: every window in it is long closed.
PAST_MS = 1_719_392_400_000
SIZES_S = (30, 300)


def closed_windows(count: int, event_types: tuple[str, ...] = ("click", "view"), seed: int = 0) -> list[WindowMetrics]:
    """`count` closed windows per (event_type, window size), 10 s apart, in the past, counts from `seed` + 1."""
    return [
        make_window(event_type, PAST_MS + i * 10_000, count=seed + i + 1, size_s=size_s)
        for event_type in event_types
        for size_s in SIZES_S
        for i in range(count)
    ]


def open_windows(event_types: tuple[str, ...] = ("click", "view")) -> list[WindowMetrics]:
    """Windows that end in the future: still open, they must stay in Redis."""
    start = now_ms() // 10_000 * 10_000
    return [make_window(event_type, start, count=100, size_s=size) for event_type in event_types for size in SIZES_S]


def redis_windows(client: redis.Redis, keys: RedisKeys) -> set[str]:
    """Every member of every windows sorted set under the prefix."""
    return set(window_members(client, keys))


def assert_synced_exactly_once(rows: list[WindowMetrics], expected: list[WindowMetrics]) -> None:
    keys = [row.key for row in rows]
    assert len(keys) == len(set(keys)), "a window is in PostgreSQL more than once"
    assert sorted(rows, key=lambda w: w.key) == sorted(expected, key=lambda w: w.key)


@pytest.fixture
def sync_env(infra: Infra, redis_keys: RedisKeys, pg_schema: str) -> dict[str, str]:
    """Env for a worker on this test's key prefix and schema, cycling fast."""
    return {
        **infra.service_env(),
        "REDIS_KEY_PREFIX": redis_keys.prefix,
        "POSTGRES_SCHEMA": pg_schema,
        "SYNC_INTERVAL_S": "0.2",
        "SYNC_GRACE_S": "2",
        "SYNC_BATCH_SIZE": "7",
        "SYNC_BACKOFF_INITIAL_S": "0.2",
        "SYNC_BACKOFF_MAX_S": "1",
        "SYNC_METRICS_PORT": "0",
        # The windows here are from 2024, past any retention: the retention task has tests of its own.
        "SYNC_RETENTION_INTERVAL_S": "0",
    }


@pytest.fixture
def sync_settings(sync_env: dict[str, str]) -> Settings:
    values: dict[str, Any] = {name.lower(): value for name, value in sync_env.items()}
    return Settings(**values)


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], ServiceProcess]]:
    """`start_worker(env)` starts a `python -m sync_service` process; any still running is stopped after the test."""
    started: list[ServiceProcess] = []

    def start(env: dict[str, str]) -> ServiceProcess:
        worker = ServiceProcess.start("sync_service", env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    stop_all(started, timeout_s=10)
