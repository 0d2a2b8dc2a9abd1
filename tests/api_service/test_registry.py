"""The live registries (issue 14 point 2): event types and window sizes that go quiet drop out of the lists
and the WebSocket snapshot; the dashboard's top N by volume comes in one request, and the breakdown
properties per type."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import redis
from websockets.asyncio.client import connect

from contracts.events import now_ms
from contracts.redis_keys import UPSERT_WINDOW_LUA, RedisKeys, upsert_window_call, upsert_windows
from contracts.window_results import WindowMetrics
from harness.infra import Infra, unique_name
from harness.stores import insert_history
from harness.windows import make_window as window
from tests.api_service.fixtures import ApiServer

HOUR_MS = 3_600_000
BASE_MS = (now_ms() - 3 * HOUR_MS) // 60_000 * 60_000


def test_the_writer_registers_names_by_their_newest_window_and_prunes_quiet_ones(
    redis_client: redis.Redis, redis_keys: RedisKeys
) -> None:
    """The Lua upsert itself (as the Flink job calls it): ZADD GT keeps the newest end, the horizon prunes."""
    script = redis_client.register_script(UPSERT_WINDOW_LUA)

    def write(event_type: str, start_ms: int, size_s: int = 30) -> None:
        keys, args = upsert_window_call(redis_keys, window(event_type, start_ms, size_s=size_s), 0, quiet_s=600,
                                        now_ms=1_000 + start_ms)
        script(keys=keys, args=args)

    write("click", BASE_MS + 60_000)
    write("click", BASE_MS)  # an older window, written late: the registered end stays the newest
    write("view", BASE_MS, size_s=300)
    assert redis_client.zrange(redis_keys.event_types, 0, -1, withscores=True) == [
        ("click", BASE_MS + 90_000), ("view", BASE_MS + 300_000)]
    assert redis_client.hget(redis_keys.writer_status, "last_write_ms") == str(1_000 + BASE_MS)

    write("click", BASE_MS + 900_000)  # ends 630 s after view's newest window: view is quiet, and 5m with it
    assert redis_client.zrange(redis_keys.event_types, 0, -1) == ["click"]
    assert redis_client.zrange(redis_keys.window_sizes, 0, -1) == ["30s"]


def test_quiet_event_types_drop_out_of_the_lists_and_the_snapshot(api: ApiServer, redis_client: redis.Redis) -> None:
    quiet, active = unique_name("quiet").replace("test-", ""), unique_name("active").replace("test-", "")
    upsert_windows(redis_client, api.keys, [window(quiet, BASE_MS), window(quiet, BASE_MS, size_s=300)])
    assert quiet in api.get("/metrics/event-types").json()["event_types"]
    # The API runs with the default EVENT_TYPE_QUIET_S of an hour: a window ending two hours later prunes.
    upsert_windows(redis_client, api.keys, [window(active, BASE_MS + 2 * HOUR_MS)])

    listed = api.get("/metrics/event-types").json()["event_types"]
    assert active in listed and quiet not in listed
    assert api.get("/metrics/window-sizes").json()["window_sizes"] == ["30s"]

    async def snapshot() -> set[str]:
        async with connect(f"{api.ws_url}/live-metrics") as client:
            names = set()
            try:
                while True:
                    names.add(json.loads(await asyncio.wait_for(client.recv(), 2))["event_type"])
            except TimeoutError:
                return names

    assert quiet not in asyncio.run(snapshot())


def test_top_event_types_by_volume_in_one_request(
    start_api: Callable[..., ApiServer], infra: Infra, redis_client: redis.Redis
) -> None:
    api = start_api()  # its own key prefix: only this test's types are live
    newest = BASE_MS + 60_000
    upsert_windows(redis_client, api.keys, [
        window("small", newest, count=3), window("big", newest, count=90), window("mid", newest, count=40),
        window("gone-quiet", BASE_MS, count=500), window("big", newest, count=7, size_s=300),
    ])
    # "synced" has its newest window in PostgreSQL only (moved by the sync worker), registered as live.
    upsert_windows(redis_client, api.keys, [window("synced", newest, count=60)])
    redis_client.zrem(api.keys.windows("synced", "30s"), window("synced", newest, count=60).to_json())
    insert_history(infra.postgres_dsn, api.schema, [window("synced", newest, count=60)])

    response = api.get("/metrics/top", window_size="30s", limit=4)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["window_size"], body["live_event_types"]) == ("30s", 5)
    assert [(entry["event_type"], entry["count"]) for entry in body["event_types"]] == [
        ("big", 90), ("synced", 60), ("mid", 40), ("small", 3)]
    assert body["event_types"][0] == window("big", newest, count=90).to_message()
    everything = api.get("/metrics/top", window_size="30s", limit=10).json()["event_types"]
    assert everything[-1]["event_type"] == "gone-quiet", "quiet types come after the active ones"
    assert api.get("/metrics/top", window_size="5m").json()["event_types"] == [
        window("big", newest, count=7, size_s=300).to_message()]


def test_breakdown_properties_per_live_event_type(
    start_api: Callable[..., ApiServer], redis_client: redis.Redis
) -> None:
    """What the dashboard's "Split by" offers: the properties each live type has breakdown windows for."""
    api = start_api()  # its own key prefix: only this test's names are live
    assert api.get("/metrics/breakdown-properties").json() == {"breakdown_properties": {}}

    def by(event_type: str, prop: str, value: str, start_ms: int = BASE_MS) -> WindowMetrics:
        return window(event_type, start_ms).model_copy(update={"breakdown": prop, "breakdown_value": value})

    upsert_windows(redis_client, api.keys, [
        window("purchase", BASE_MS), window("click", BASE_MS), window("signup", BASE_MS),
        by("purchase", "plan", "pro"), by("purchase", "country", "DE"), by("purchase", "country", "(none)"),
        by("click", "country", "FR"),
    ])  # fmt: skip

    response = api.get("/metrics/breakdown-properties")

    assert response.status_code == 200, response.text
    assert response.json() == {"breakdown_properties": {"click": ["country"], "purchase": ["country", "plan"]}}
    # A property quiet for EVENT_TYPE_QUIET_S (an hour here) drops out like an event type.
    upsert_windows(redis_client, api.keys, [by("purchase", "country", "DE", BASE_MS + 2 * HOUR_MS)])
    assert api.get("/metrics/breakdown-properties").json()["breakdown_properties"]["purchase"] == ["country"]
