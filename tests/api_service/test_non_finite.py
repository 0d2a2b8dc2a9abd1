"""A sum that is not a finite number, reaching a store anyway (left by a job older than the value bound in
contracts/events.py), never makes an answer fail or stop being JSON: every output says `total_value: null`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import redis
from websockets.asyncio.client import connect

from contracts.events import now_ms
from harness.infra import Infra
from harness.stores import insert_history
from harness.windows import make_window as window
from tests.api_service.fixtures import ApiServer

HOUR_MS = 3_600_000
BASE_MS = (now_ms() - 2 * HOUR_MS) // 60_000 * 60_000


def _refuse(token: str) -> Any:
    raise AssertionError(f"{token} is not JSON")


def strict_json(text: str) -> Any:
    """Parse as JSON proper: Python's json module would also read NaN and Infinity."""
    return json.loads(text, parse_constant=_refuse)


def old_member(event_type: str, window_start: int, total_value: float) -> str:
    """A window as a writer without the bound left it: Python's json.dumps writes Infinity and NaN."""
    fields = window(event_type, window_start).model_dump()
    return json.dumps({**fields, "total_value": total_value}, separators=(",", ":"))


def test_every_http_answer_is_json_with_null_for_a_non_finite_sum(
    api: ApiServer, infra: Infra, redis_client: redis.Redis, event_type: str
) -> None:
    synced = window(event_type, BASE_MS, total_value=float("inf"))
    insert_history(infra.postgres_dsn, api.schema, [synced])  # PostgreSQL's double precision holds Infinity
    key = api.keys.windows(event_type, "30s")
    redis_client.zadd(key, {old_member(event_type, BASE_MS + 10_000, float("-inf")): BASE_MS + 10_000,
                            old_member(event_type, BASE_MS + 20_000, float("nan")): BASE_MS + 20_000,
                            window(event_type, BASE_MS + 30_000).to_json(): BASE_MS + 30_000})

    for path in ("/metrics", "/metrics/realtime", "/metrics/history"):
        response = api.get(path, event_type=event_type, window_size="30s")
        assert response.status_code == 200, (path, response.text)
        totals = {entry["window_start"]: entry["total_value"] for entry in strict_json(response.text)["entries"]}
        expected = {BASE_MS + 10_000: None, BASE_MS + 20_000: None, BASE_MS + 30_000: 1.5}
        if path != "/metrics/realtime":
            expected[BASE_MS] = None  # the synced window, from PostgreSQL
        assert totals == expected, path


async def test_the_websocket_sends_json_with_null_for_a_non_finite_sum(
    api: ApiServer, redis_client: redis.Redis, event_type: str
) -> None:
    key = api.keys.windows(event_type, "30s")
    redis_client.zadd(key, {old_member(event_type, BASE_MS, float("inf")): BASE_MS})
    async with connect(f"{api.ws_url}/live-metrics?event_type={event_type}&window_size=30s") as client:
        snapshot = strict_json(str(await asyncio.wait_for(client.recv(), 10)))
        assert (snapshot["window_start"], snapshot["total_value"]) == (BASE_MS, None)

        redis_client.publish(api.keys.updates_channel, old_member(event_type, BASE_MS + 10_000, float("nan")))
        update = strict_json(str(await asyncio.wait_for(client.recv(), 10)))

    assert (update["window_start"], update["total_value"], update["count"]) == (BASE_MS + 10_000, None, 1)


@pytest.mark.parametrize("total_value", [float("inf"), float("nan")])
def test_a_window_written_with_a_non_finite_sum_is_canonical_json(total_value: float) -> None:
    written = window("click", BASE_MS, total_value=total_value)
    member = written.to_json()

    assert strict_json(member)["total_value"] is None
    assert written.to_entry()["total_value"] is None
    assert type(written).from_json(member).to_json() == member, "canonical: the same bytes when written again"
