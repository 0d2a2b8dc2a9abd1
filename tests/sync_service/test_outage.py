"""A dependency down for a while: the worker backs off, reports it, recovers and catches up.

Each test runs its own private PostgreSQL or Redis (localstack components in tmp_path), never the
shared stack's, so stopping it disturbs no one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from contracts.redis_keys import RedisKeys, upsert_windows
from harness.infra import REPO_ROOT, Infra, free_port
from harness.services import ServiceProcess
from harness.stores import fetch_rows
from tests.sync_service.fixtures import assert_synced_exactly_once, closed_windows, redis_windows

PASSWORD = "privatepass"


@dataclass
class PrivateServer:
    """A private Redis or PostgreSQL driven through the stack CLI.

    The CLI (not `Component.up()` in-process) so that the server is not a child of pytest: a child
    stopped by the stack becomes a zombie that `stop` keeps waiting for. The run folder is outside
    pytest's basetemp, whose permissions concurrent pytest sessions reset to 0700 (PostgreSQL runs as
    the `postgres` user and must reach its data folder).
    """

    kind: str
    port: int
    run_dir: Path

    def _stack(self, command: str) -> None:
        port_var = "POSTGRES_PORT" if self.kind == "postgres" else "REDIS_PORT"
        env = {
            **os.environ, "RUN_DIR": str(self.run_dir), port_var: str(self.port), "POSTGRES_USER": "admin",
            "POSTGRES_PASSWORD": PASSWORD, "POSTGRES_DB": "analytics", "REDIS_PASSWORD": PASSWORD,
        }
        done = subprocess.run([sys.executable, "-m", "localstack.stack", command, self.kind], cwd=REPO_ROOT,
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"stack {command} {self.kind} failed: {done.stdout}{done.stderr}"

    def up(self) -> None:
        self._stack("up")

    def stop(self) -> None:
        self._stack("down")


def errors_reported(port: int, stage: str) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    errors = re.search(rf'^sync_errors_total{{stage="{stage}"}} (\S+)$', text, re.MULTILINE)
    lag = re.search(r"^sync_lag_seconds (\S+)$", text, re.MULTILINE)
    return bool(errors and float(errors.group(1)) > 0 and (stage == "redis" or (lag and float(lag.group(1)) > 0)))


@pytest.fixture
def private_server() -> Iterator[Callable[[str], PrivateServer]]:
    run_dir = Path(tempfile.mkdtemp(prefix="sync-private-stack-"))
    started: list[PrivateServer] = []

    def make(kind: str) -> PrivateServer:
        server = PrivateServer(kind, free_port(), run_dir)
        started.append(server)
        server.up()
        return server

    yield make
    for server in started:
        server.stop()
    shutil.rmtree(run_dir, ignore_errors=True)


def test_postgres_down_for_a_while_then_back(
    sync_env: dict[str, str], start_worker: Callable[[dict[str, str]], ServiceProcess],
    private_server: Callable[[str], PrivateServer], redis_client: redis.Redis, redis_keys: RedisKeys,
    pg_schema: str,
) -> None:
    postgres = private_server("postgres")
    dsn = f"postgresql://admin:{PASSWORD}@127.0.0.1:{postgres.port}/analytics"
    metrics_port = free_port()
    worker = start_worker({
        **sync_env, "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(postgres.port),
        "POSTGRES_PASSWORD": PASSWORD, "SYNC_METRICS_PORT": str(metrics_port),
    })
    before = closed_windows(3)
    upsert_windows(redis_client, redis_keys, before)
    worker.wait_for(lambda: len(fetch_rows(dsn, pg_schema)) == len(before), 30, "the first windows to sync")

    postgres.stop()
    during = closed_windows(3, event_types=("buy",), seed=50)
    upsert_windows(redis_client, redis_keys, during)
    worker.wait_for(lambda: errors_reported(metrics_port, "postgres"), 30, "the outage in the metrics")
    # Down for a while: several retries, each logged, the delay doubling.
    worker.wait_for(lambda: "(attempt 3, retrying in 0.8s)" in worker.log, 30, "three failed attempts")
    assert "cycle failed: postgres unavailable" in worker.log
    assert redis_windows(redis_client, redis_keys) == {w.to_json() for w in during}

    postgres.up()
    worker.wait_for(lambda: redis_windows(redis_client, redis_keys) == set(), 30, "the worker to catch up")
    assert_synced_exactly_once(fetch_rows(dsn, pg_schema), before + during)
    assert "recovered after" in worker.log
    assert worker.terminate() == 0, worker.log


def test_redis_down_for_a_while_then_back(
    sync_env: dict[str, str], start_worker: Callable[[dict[str, str]], ServiceProcess],
    private_server: Callable[[str], PrivateServer], redis_keys: RedisKeys, infra: Infra, pg_schema: str,
) -> None:
    server = private_server("redis")
    port = server.port
    client = redis.Redis(host="127.0.0.1", port=port, password=PASSWORD, decode_responses=True)
    metrics_port = free_port()
    worker = start_worker({
        **sync_env, "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(port), "REDIS_PASSWORD": PASSWORD,
        "SYNC_METRICS_PORT": str(metrics_port),
    })
    before = closed_windows(3)
    upsert_windows(client, redis_keys, before)
    worker.wait_for(lambda: len(fetch_rows(infra.postgres_dsn, pg_schema)) == len(before), 30, "the first sync")

    server.stop()
    worker.wait_for(lambda: errors_reported(metrics_port, "redis"), 30, "the outage in the metrics")
    assert "cycle failed: redis unavailable" in worker.log

    server.up()
    after = closed_windows(3, event_types=("buy",), seed=50)
    upsert_windows(client, redis_keys, after)
    worker.wait_for(lambda: redis_windows(client, redis_keys) == set(), 30, "the worker to catch up")
    assert_synced_exactly_once(fetch_rows(infra.postgres_dsn, pg_schema), before + after)
    assert worker.terminate() == 0, worker.log
    client.close()


@pytest.mark.parametrize(
    ("variable", "expected"),
    [("REDIS_PASSWORD", "Redis rejected the login"), ("POSTGRES_PASSWORD", "PostgreSQL rejected the login")],
)
def test_wrong_password_stops_at_once_instead_of_retrying(
    variable: str, expected: str, sync_env: dict[str, str],
    start_worker: Callable[[dict[str, str]], ServiceProcess],
) -> None:
    worker = start_worker({**sync_env, variable: "wrong-password"})
    assert worker.wait_exit(20) == 1, worker.log
    assert f"cannot sync: {expected}" in worker.log
    assert "retrying" not in worker.log
