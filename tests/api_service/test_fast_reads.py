"""The window reads' ASGI fast path (api_service/fast_reads.py) against real Redis and PostgreSQL: it answers
plain reads itself, and every answer equals the FastAPI route's for the same request."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio as aioredis

from api_service.fast_reads import FastReads
from api_service.windows_store import RealtimeStore
from contracts.events import now_ms
from contracts.redis_keys import RedisKeys, upsert_windows
from contracts.window_results import WindowMetrics
from harness.infra import Infra
from harness.stores import insert_history
from harness.windows import make_window
from tests.api_service.fixtures import ApiServer

BASE_MS = (now_ms() - 7_200_000) // 60_000 * 60_000  # whole minutes well in the past: every window has closed
# Query strings after `event_type=<the test's type>`: answered by the fast path or, when it is unsure, by FastAPI.
QUERIES = [
    "", "&limit=3", "&window_size=30s&limit=1000", "&window_size=1m", "&limit=1001", "&limit=0", "&limit=07",
    "&limit=-1", "&limit=2.0", "&limit=", "&window_size=30", "&window_size=0s", "&window_size=30s&window_size=1m",
    "&breakdown=country", "&breakdown=Country", "&start_time=2000-01-01T00:00:00Z",
    "&start_time=2000-01-01T00:00:00%2B02:00&end_time=2100-01-01T00:00:00", "&start_time=2023-02-29T00:00:00Z",
    "&start_time=2024-02-29T00:00:00.123456Z", "&start_time=2000-01-01", "&start_time=946684800",
    "&start_time=2100-01-01T00:00:00Z&end_time=2000-01-01T00:00:00Z", "&resolution=auto",
    "&resolution=1m&window_size=30s", "&resolution=7s", "&resolution=auto&start_time=2000-01-01T00:00:00Z",
    "&unknown=1", "&event_type=other",
]
PATHS = ["/metrics", "/metrics/metrics", "/metrics/realtime", "/metrics/history"]


def by_country(window: WindowMetrics, country: str) -> WindowMetrics:
    return window.model_copy(update={"breakdown": "country", "breakdown_value": country})


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_equals_the_fastapi_routes(
    api: ApiServer, redis_client: redis.Redis, infra: Infra, event_type: str, path: str
) -> None:
    synced = [make_window(event_type, BASE_MS + k * 10_000, count=k + 1) for k in range(4)]
    unsynced = [make_window(event_type, BASE_MS + k * 10_000, count=k + 1) for k in range(4, 6)]
    insert_history(infra.postgres_dsn, api.schema, [*synced, by_country(synced[0], "DE")])
    upsert_windows(redis_client, api.keys, [*unsynced, by_country(unsynced[0], "FR")])

    for query in QUERIES:
        url = f"{api.base_url}{path}?event_type={event_type}{query}"
        fast = httpx.get(url, timeout=10)
        # An unknown parameter sends a read through FastAPI (which ignores it): the reference answer.
        reference = httpx.get(url + "&cache_buster=1", timeout=10)
        assert (fast.status_code, fast.json()) == (reference.status_code, reference.json()), query
        assert fast.headers["content-type"] == reference.headers["content-type"], query


def test_a_plain_read_is_answered_without_fastapi_and_anything_else_is_passed_on(
    redis_client: redis.Redis, redis_keys: RedisKeys, infra: Infra, event_type: str
) -> None:
    windows = [make_window(event_type, BASE_MS + k * 10_000, count=k + 1) for k in range(3)]
    upsert_windows(redis_client, redis_keys, windows)

    async def run(query: bytes) -> tuple[list[MutableMapping[str, Any]], int]:
        passed_on = 0

        async def fastapi(scope: Any, receive: Any, send: Any) -> None:
            nonlocal passed_on
            passed_on += 1

        client = aioredis.Redis(host=infra.redis_host, port=infra.redis_port, password=infra.redis_password,
                                decode_responses=True)
        state = SimpleNamespace(realtime=RealtimeStore(client, redis_keys))
        scope = {"type": "http", "method": "GET", "path": "/metrics/realtime", "query_string": query,
                 "app": SimpleNamespace(state=state), "headers": []}
        sent: list[MutableMapping[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        try:
            await FastReads(fastapi)(scope, receive, send)
        finally:
            await client.aclose()
        return sent, passed_on

    sent, passed_on = asyncio.run(run(f"event_type={event_type}&limit=2".encode()))
    assert passed_on == 0
    assert sent[0]["status"] == 200
    assert b'"count":3' in sent[1]["body"] and b'"count":1' not in sent[1]["body"]

    for unsure in (f"event_type={event_type}&limit=0", f"event_type={event_type}&x=1", "limit=2", ""):
        sent, passed_on = asyncio.run(run(unsure.encode()))
        assert (sent, passed_on) == ([], 1), unsure
