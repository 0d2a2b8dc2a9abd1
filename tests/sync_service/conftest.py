"""Fixtures of the sync worker tests: seeded windows, worker settings and worker processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import asyncpg
import pytest
import redis

from contracts.events import now_ms
from contracts.history import quote_ident, row_to_window
from contracts.redis_keys import RedisKeys
from contracts.redis_keys import upsert_windows as upsert_windows  # re-exported for the tests
from contracts.window_results import WindowMetrics
from contracts.windows import parse_duration_s
from sync_service.settings import Settings
from tests.conftest import REPO_ROOT, Infra, wait_until

# A fixed past hour: every window in it is long closed.
PAST_MS = 1_719_392_400_000
SIZES = ("30s", "5m")


def make_window(event_type: str, window_size: str, window_start: int, seed: int = 0) -> WindowMetrics:
    size_ms = parse_duration_s(window_size) * 1000
    return WindowMetrics(
        window_start=window_start,
        window_end=window_start + size_ms,
        count=seed + 1,
        total_value=round(seed * 1.25 + 0.1, 2),
        unique_users=seed % 7 + 1,
        event_type=event_type,
        window_size=window_size,
    )


def closed_windows(count: int, event_types: tuple[str, ...] = ("click", "view"), seed: int = 0) -> list[WindowMetrics]:
    """`count` closed windows per (event_type, window_size), 10 s apart, in the past."""
    return [
        make_window(event_type, size, PAST_MS + i * 10_000, seed=seed + i)
        for event_type in event_types
        for size in SIZES
        for i in range(count)
    ]


def open_windows(event_types: tuple[str, ...] = ("click", "view")) -> list[WindowMetrics]:
    """Windows that end in the future: still open, they must stay in Redis."""
    start = now_ms() // 10_000 * 10_000
    return [make_window(event_type, size, start, seed=99) for event_type in event_types for size in SIZES]


def redis_windows(client: redis.Redis, keys: RedisKeys) -> set[str]:
    """Every member of every windows sorted set under the prefix."""
    members: set[str] = set()
    for name in client.scan_iter(match=keys.windows_pattern(), count=1000):
        members.update(cast(list[str], client.zrange(name, 0, -1)))
    return members


async def read_rows(dsn: str, schema: str) -> list[WindowMetrics]:
    """Every row of the metrics table, as WindowMetrics (duplicates, if any, included)."""
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT to_regclass($1)", f"{quote_ident(schema)}.metrics") is None:
            return []
        rows = await conn.fetch(f"SELECT * FROM {quote_ident(schema)}.metrics")
    finally:
        await conn.close()
    return [row_to_window(row) for row in rows]


def fetch_rows(dsn: str, schema: str) -> list[WindowMetrics]:
    """`read_rows` for the tests that do not run in an event loop."""
    return asyncio.run(read_rows(dsn, schema))


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
    }


@pytest.fixture
def sync_settings(sync_env: dict[str, str]) -> Settings:
    values: dict[str, Any] = {name.lower(): value for name, value in sync_env.items()}
    return Settings(**values)


@dataclass
class WorkerProcess:
    """`python -m sync_service` as a child process, its output in a log file."""

    proc: subprocess.Popen[bytes]
    log_file: Path

    @property
    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def wait_exit(self, timeout_s: float) -> int:
        wait_until(lambda: self.proc.poll() is not None, timeout_s, "the worker to exit")
        return self.proc.returncode

    def wait_for(self, condition: Callable[[], Any], timeout_s: float, what: str) -> None:
        """`wait_until`, failing with the tail of the worker's log."""
        try:
            wait_until(condition, timeout_s, what)
        except pytest.fail.Exception:
            pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}; worker log:\n{self.log[-4000:]}")

    def terminate(self, timeout_s: float = 20) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout_s)


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Any]:
    """`start_worker(env)` starts a worker process; any still running is killed after the test."""
    started: list[WorkerProcess] = []

    def start(env: dict[str, str]) -> WorkerProcess:
        log_file = tmp_path / f"worker-{len(started)}.log"
        with log_file.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "sync_service"], cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            )
        worker = WorkerProcess(proc, log_file)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait(10)
