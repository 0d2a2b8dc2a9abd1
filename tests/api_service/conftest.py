"""Fixtures for the api_service tests: a real API process on a free port, and writers for test data.

The API runs as `python -m api_service` in a subprocess pointed (by env vars) at a key prefix and a
PostgreSQL schema of its own, so tests see exactly the data they write.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis

from contracts.history import WINDOW_COLUMNS, apply_migrations, window_row
from contracts.redis_keys import RedisKeys
from contracts.window_results import WindowMetrics
from contracts.windows import format_duration
from tests.conftest import REPO_ROOT, Infra, free_port, unique_name, wait_until

TEST_OUTPUT = REPO_ROOT / "test-output"



def window(event_type: str, window_start: int, count: int = 1, size_s: int = 30, **fields: float) -> WindowMetrics:
    """A window result with plausible numbers derived from `count` unless given."""
    return WindowMetrics(
        window_start=window_start,
        window_end=window_start + size_s * 1000,
        count=count,
        total_value=float(fields.get("total_value", count * 1.5)),
        unique_users=int(fields.get("unique_users", max(1, count // 2))),
        event_type=event_type,
        window_size=format_duration(size_s),
    )


def insert_history(dsn: str, schema: str, windows: list[WindowMetrics]) -> None:
    """Write synced windows into the schema's `metrics` table, as the sync worker does."""

    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await apply_migrations(conn, schema)
            await conn.executemany(
                f"INSERT INTO metrics ({', '.join(WINDOW_COLUMNS)}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                [window_row(w) for w in windows],
            )
        finally:
            await conn.close()

    asyncio.run(run())


@dataclass
class ApiServer:
    base_url: str
    ws_url: str
    keys: RedisKeys
    schema: str
    process: subprocess.Popen[bytes]
    log_file: Path

    def get(self, path: str, **params: object) -> httpx.Response:
        return httpx.get(self.base_url + path, params=params, timeout=10)  # type: ignore[arg-type]

    def health(self) -> dict[str, object]:
        body: dict[str, object] = httpx.get(self.base_url + "/health", timeout=5).json()
        return body

    def logs(self) -> str:
        return self.log_file.read_text(errors="replace")


def _answers(url: str, status: int | None) -> bool:
    try:
        response = httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return False
    return status is None or response.status_code == status


@pytest.fixture(scope="module")
def start_api(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., ApiServer]]:
    """Start API processes (stopped after the module): `start_api(REDIS_PORT="16379", ...)` overrides env.

    Waits for /health to say 200, or with `wait_healthy=False` only for it to answer at all."""
    servers: list[ApiServer] = []
    schemas: list[str] = []

    def start(wait_healthy: bool = True, port: int | None = None, **env_overrides: str) -> ApiServer:
        port = port or free_port()
        keys = RedisKeys(prefix=unique_name("api"))
        schema = unique_name("api").replace("-", "_")
        schemas.append(schema)
        log_file = tmp_path_factory.mktemp("api") / "api.log"
        env = {
            **os.environ,
            **infra.service_env(),
            "API_HOST": "127.0.0.1",
            "API_PORT": str(port),
            "REDIS_KEY_PREFIX": keys.prefix,
            "POSTGRES_SCHEMA": schema,
            "LOG_LEVEL": "INFO",
            **env_overrides,
        }
        with log_file.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "api_service"], cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        server = ApiServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", keys, schema, process, log_file)
        servers.append(server)

        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(f"api_service exited with {process.returncode}:\n{server.logs()}")
            return _answers(server.base_url + "/health", 200 if wait_healthy else None)

        wait_until(ready, 30, "api_service /health to answer")
        return server

    yield start
    for server in servers:
        server.process.terminate()
    for server in servers:
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
    cleanup = redis.Redis(host=infra.redis_host, port=infra.redis_port, password=infra.redis_password)
    for server in servers:
        stale = list(cleanup.scan_iter(match=f"{server.keys.prefix}:*", count=1000))
        if stale:
            cleanup.delete(*stale)
    cleanup.close()

    async def drop_schemas() -> None:
        conn = await asyncpg.connect(infra.postgres_dsn)
        try:
            for schema in schemas:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()

    asyncio.run(drop_schemas())


@pytest.fixture(scope="module")
def api(start_api: Callable[..., ApiServer]) -> ApiServer:
    """One API process shared by a module's tests; tests keep apart by using their own event types."""
    return start_api()


@pytest.fixture
def event_type() -> str:
    return unique_name("evt").replace("test-", "")
