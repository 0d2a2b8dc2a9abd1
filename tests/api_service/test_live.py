"""The /live-metrics WebSocket relay with real clients, real Redis pub/sub and a Redis restart."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from contracts.events import now_ms
from contracts.redis_keys import upsert_windows
from contracts.window_results import WindowMetrics
from contracts.windows import parse_duration_s
from harness.infra import Infra, free_port
from harness.waiting import wait_until
from harness.windows import make_window
from localstack.infra import Redis
from localstack.settings import StackSettings
from tests.api_service.fixtures import ApiServer

BASE_MS = now_ms() // 10_000 * 10_000 - 3_600_000
RECEIVE_TIMEOUT_S = 10.0
END_MARKER = "end-marker"


async def receive(client: ClientConnection, count: int, timeout_s: float = RECEIVE_TIMEOUT_S) -> list[dict[str, Any]]:
    """The next `count` messages, decoded; fails the test if they do not arrive in time."""
    messages = []
    async with asyncio.timeout(timeout_s):
        for _ in range(count):
            messages.append(json.loads(await client.recv()))
    return messages


async def assert_silent(client: ClientConnection, within_s: float = 0.5) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(within_s):
            raise AssertionError(f"unexpected message {await client.recv()!r}")


def as_messages(windows: list[WindowMetrics]) -> list[dict[str, Any]]:
    return [json.loads(w.to_json()) for w in windows]


def wait_for_clients(server: ApiServer, count: int) -> None:
    wait_until(lambda: server.health()["live_clients"] == count, 10, f"{count} live clients registered")


async def test_snapshot_then_filtered_live_updates_to_several_clients(
    start_api: Callable[..., ApiServer], redis_client: redis.Redis
) -> None:
    server = start_api()
    history = [make_window("click", BASE_MS + k * 10_000, count=k + 1) for k in range(3)]
    history += [make_window("view", BASE_MS, count=5), make_window("view", BASE_MS, count=6, size_s=60)]
    async with connect(server.ws_url + "/live-metrics") as probe:
        wait_for_clients(server, 1)
        upsert_windows(redis_client, server.keys, history)
        # Once the probe has them, the relay is past the history's own publications: a loaded relay
        # would otherwise hand them to the clients below after their snapshot (seen in CI).
        assert await receive(probe, len(history)) == as_messages(history)

    async with (
        connect(server.ws_url + "/live-metrics") as everything,
        connect(server.ws_url + "/live-metrics?event_type=click") as clicks,
        connect(server.ws_url + "/live-metrics?window_size=1m") as minutes,
        connect(server.ws_url + "/live-metrics?event_type=view&window_size=30s") as views_30s,
    ):
        # Snapshot: the newest window of each (event type, window size) the filter lets through.
        snapshot = await receive(everything, 3)
        assert sorted(snapshot, key=lambda m: (m["event_type"], parse_duration_s(m["window_size"]))) == as_messages(
            [history[2], history[3], history[4]]
        )
        assert await receive(clicks, 1) == as_messages([history[2]])
        assert await receive(minutes, 1) == as_messages([history[4]])
        assert await receive(views_30s, 1) == as_messages([history[3]])
        wait_for_clients(server, 4)

        live = [make_window("click", BASE_MS + 30_000, count=40), make_window("view", BASE_MS + 10_000, count=41)]
        live.append(make_window("view", BASE_MS + 60_000, count=42, size_s=60))
        upsert_windows(redis_client, server.keys, live)

        assert await receive(everything, 3) == as_messages(live)
        assert await receive(clicks, 1) == as_messages([live[0]])
        assert await receive(minutes, 1) == as_messages([live[2]])
        assert await receive(views_30s, 1) == as_messages([live[1]])
        # The seed's message format, field for field and in order.
        assert list(json.loads(live[0].to_json())) == [
            "window_start", "window_end", "count", "total_value", "unique_users", "event_type", "window_size",
        ]  # fmt: skip
        await assert_silent(clicks)

    wait_for_clients(server, 0)


async def test_breakdown_clients_get_the_windows_of_one_property_and_nobody_else_does(
    start_api: Callable[..., ApiServer], redis_client: redis.Redis
) -> None:
    server = start_api()

    def by_country(country: str, count: int, start_ms: int = BASE_MS) -> WindowMetrics:
        window = make_window("click", start_ms, count=count)
        return window.model_copy(update={"breakdown": "country", "breakdown_value": country})

    history = [by_country("DE", 3), by_country("FR", 2), by_country("DE", 4, BASE_MS + 10_000)]
    whole_type = make_window("click", BASE_MS + 10_000, count=6)  # the job writes the type's windows too
    async with connect(server.ws_url + "/live-metrics") as probe:
        wait_for_clients(server, 1)
        upsert_windows(redis_client, server.keys, [*history, whole_type])
        # The relay is past the history's publications once the probe has the last one (see the test above).
        assert await receive(probe, 1) == as_messages([whole_type])
    async with (
        connect(server.ws_url + "/live-metrics") as plain,
        connect(server.ws_url + "/live-metrics?breakdown=country") as countries,
        connect(server.ws_url + "/live-metrics?breakdown=plan&event_type=click") as plans,
    ):
        # Snapshot: the newest window of each value; nothing for a property no window was written for.
        snapshot = await receive(countries, 2)
        assert sorted(snapshot, key=lambda m: m["breakdown_value"]) == as_messages([history[2], history[1]])
        assert await receive(plain, 1) == as_messages([whole_type])
        wait_for_clients(server, 3)
        live = [by_country("FR", 9, BASE_MS + 10_000), make_window("click", BASE_MS, count=1)]
        upsert_windows(redis_client, server.keys, live)
        assert await receive(countries, 1) == as_messages([live[0]])
        assert await receive(plain, 1) == as_messages([live[1]])
        assert json.loads(live[0].to_json())["breakdown"] == "country"
        await assert_silent(countries)
        await assert_silent(plans)
        await assert_silent(plain)


async def test_a_bad_filter_closes_the_socket_naming_the_parameter(api: ApiServer) -> None:
    async with connect(api.ws_url + "/live-metrics?window_size=thirty") as client:
        with pytest.raises(ConnectionClosed) as closed:
            await client.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008 and "window_size" in closed.value.rcvd.reason


def open_stalled_client(ws_url: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads (tiny receive buffer)."""
    host, port = ws_url.removeprefix("ws://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.sendall(
        f"GET /live-metrics HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


async def test_a_client_that_never_reads_is_dropped_without_delaying_the_others(
    start_api: Callable[..., ApiServer], redis_client: redis.Redis
) -> None:
    server = start_api(WS_CLIENT_QUEUE_SIZE="64")
    stalled = open_stalled_client(server.ws_url)
    batch, most = 1000, 50_000
    try:
        async with (
            connect(server.ws_url + "/live-metrics", max_queue=None) as first,
            connect(server.ws_url + "/live-metrics", max_queue=None) as second,
        ):
            wait_for_clients(server, 3)
            loop = asyncio.get_running_loop()
            started = loop.time()
            readers = [asyncio.create_task(read_counts(first)), asyncio.create_task(read_counts(second))]
            # Publish until the stalled client's socket buffers and queue are full and the relay drops it.
            published = 0
            while (await asyncio.to_thread(server.health))["dropped_clients"] == 0:
                assert published < most, f"the stalled client was not dropped after {most} messages"
                burst = [
                    make_window("click", BASE_MS + k * 10_000, count=k + 1) for k in range(published, published + batch)
                ]
                await asyncio.to_thread(upsert_windows, redis_client, server.keys, burst)
                published += batch
            await asyncio.to_thread(upsert_windows, redis_client, server.keys, [make_window(END_MARKER, BASE_MS)])

            # Each reader got every message, in order, while the stalled client sat on a full buffer.
            async with asyncio.timeout(30):
                first_got, second_got = await asyncio.gather(*readers)
            assert first_got == second_got == list(range(1, published + 1))
            assert (await asyncio.to_thread(server.health))["live_clients"] == 2
            print(f"{published} messages to 2 readers in {loop.time() - started:.1f}s; stalled client dropped")
    finally:
        stalled.close()


async def read_counts(client: ClientConnection) -> list[int]:
    """`count` of every click window, in arrival order, until the end marker arrives."""
    counts: list[int] = []
    while True:
        message = json.loads(await client.recv())
        if message["event_type"] == END_MARKER:
            return counts
        counts.append(message["count"])


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Redis]:
    """A Redis of this test's own (never the shared one), stopped after the test."""
    server = Redis("redis", StackSettings(run_dir=tmp_path, redis_port=free_port(), redis_password="redispass"))
    server.up()
    yield server
    server.stop()


async def test_live_updates_resume_after_a_redis_restart(
    start_api: Callable[..., ApiServer], private_redis: Redis, infra: Infra
) -> None:
    port = private_redis.settings.redis_port
    server = start_api(REDIS_PORT=str(port), REDIS_RECONNECT_MAX_S="0.5")
    writer = redis.Redis(host="127.0.0.1", port=port, password="redispass", decode_responses=True)
    try:
        async with connect(server.ws_url + "/live-metrics") as client:
            wait_for_clients(server, 1)
            before = make_window("click", BASE_MS, count=1)
            upsert_windows(writer, server.keys, [before])
            assert await receive(client, 1) == as_messages([before])

            private_redis.stop()
            wait_until(lambda: server.health()["live_relay"] == "reconnecting", 10, "the relay to notice")
            assert server.get("/metrics/realtime", event_type="click").status_code == 503
            private_redis.up()
            wait_until(lambda: server.health()["live_relay"] == "subscribed", 15, "the relay to resubscribe")

            after = make_window("click", BASE_MS + 10_000, count=2)
            upsert_windows(writer, server.keys, [after])
            assert await receive(client, 1) == as_messages([after])
            # The restarted Redis still has the window written before (its append-only file), newest first.
            entries = server.get("/metrics/realtime", event_type="click").json()["entries"]
            assert entries == [after.to_entry(), before.to_entry()]
    finally:
        writer.close()
