"""Fixtures for the api_service tests: a real API process on a free port, on a key prefix and a PostgreSQL
schema of its own (set by env vars), so tests see exactly the data they write."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from subprocess import Popen

import httpx
import pytest
import redis

from contracts.redis_keys import RedisKeys
from harness.infra import REPO_ROOT, Infra, free_port, unique_name
from harness.services import ServiceProcess, stop_all
from harness.stores import delete_prefix, drop_schemas

TEST_OUTPUT = REPO_ROOT / "test-output"


@dataclass
class ApiServer:
    base_url: str
    ws_url: str
    keys: RedisKeys
    schema: str
    service: ServiceProcess

    @property
    def process(self) -> Popen[bytes]:
        return self.service.proc

    def get(self, path: str, **params: object) -> httpx.Response:
        return httpx.get(self.base_url + path, params=params, timeout=10)  # type: ignore[arg-type]

    def health(self) -> dict[str, object]:
        body: dict[str, object] = httpx.get(self.base_url + "/health", timeout=5).json()
        return body


@pytest.fixture(scope="module")
def start_api(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., ApiServer]]:
    """Start API processes (stopped after the module): `start_api(REDIS_PORT="16379", ...)` overrides env.

    Waits for /health to say 200, or with `wait_healthy=False` only for it to answer at all."""
    servers: list[ApiServer] = []

    def start(wait_healthy: bool = True, port: int | None = None, **env_overrides: str) -> ApiServer:
        port = port or free_port()
        keys = RedisKeys(prefix=unique_name("api"))
        schema = unique_name("api").replace("-", "_")
        env = {
            **infra.service_env(), "API_HOST": "127.0.0.1", "API_PORT": str(port), "REDIS_KEY_PREFIX": keys.prefix,
            "POSTGRES_SCHEMA": schema, "LOG_LEVEL": "INFO", **env_overrides,
        }
        service = ServiceProcess.start("api_service", env, tmp_path_factory.mktemp("api") / "api.log")
        server = ApiServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", keys, schema, service)
        servers.append(server)
        service.wait_healthy(server.base_url + "/health", 30, status=200 if wait_healthy else None)
        return server

    yield start
    stop_all((server.service for server in servers), timeout_s=10)
    cleanup = redis.Redis(host=infra.redis_host, port=infra.redis_port, password=infra.redis_password)
    for server in servers:
        delete_prefix(cleanup, server.keys.prefix)
    cleanup.close()
    drop_schemas(infra.postgres_dsn, [server.schema for server in servers])


@pytest.fixture(scope="module")
def api(start_api: Callable[..., ApiServer]) -> ApiServer:
    """One API process shared by a module's tests; tests keep apart by using their own event types."""
    return start_api()


@pytest.fixture
def event_type() -> str:
    return unique_name("evt").replace("test-", "")
