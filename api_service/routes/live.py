"""The `/live-metrics` WebSocket: a snapshot of the latest windows, then every window as it is written.

The slow-client policy: the relay (`api_service/relay.py`) queues at most WS_CLIENT_QUEUE_SIZE messages
per client and drops a client that falls further behind; its socket is then closed here with 1013.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket
from redis.exceptions import RedisError
from starlette.websockets import WebSocketState

from api_service.deps import RealtimeDep, RelayDep
from api_service.params import live_filter_problem
from api_service.relay import LiveClient
from api_service.windows_store import RealtimeStore

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 1.0
# WebSocket close codes (RFC 6455 section 7.4.1): policy violation for bad filters, "try again later" when dropped.
WS_BAD_FILTER = 1008
WS_TOO_SLOW = 1013

router = APIRouter()


@router.websocket("/live-metrics")
async def live_metrics(
    websocket: WebSocket, realtime: RealtimeDep, relay: RelayDep,
    event_type: str | None = None, window_size: str | None = None, breakdown: str | None = None,
) -> None:
    """Latest window per (event type, window size) on connect, then every update, in the seed's format.
    With `breakdown=country`: the same for the windows of each value of that property instead."""
    await websocket.accept()
    problem = live_filter_problem(event_type, window_size, breakdown)
    if problem is not None:
        await websocket.close(code=WS_BAD_FILTER, reason=problem)
        return
    client = relay.register(event_type, window_size, breakdown)
    try:
        await serve_live_client(websocket, client, realtime_store=realtime)
    finally:
        relay.unregister(client)


async def serve_live_client(websocket: WebSocket, client: LiveClient, realtime_store: RealtimeStore) -> None:
    """Send the snapshot then the client's queue, until it leaves or the relay drops it."""

    async def send_updates() -> None:
        try:
            snapshot = await realtime_store.latest_per_series(client.event_type, client.window_size, client.breakdown)
        except RedisError as error:
            log.warning("no snapshot for a live client, Redis error: %s", error)
            snapshot = []
        for window in snapshot:
            await websocket.send_text(window.to_json())
        while True:
            await websocket.send_text(await client.queue.get())

    async def until_disconnect() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass  # messages from the client are not part of the protocol; ignore them

    tasks = [
        asyncio.create_task(send_updates()),
        asyncio.create_task(until_disconnect()),
        asyncio.create_task(client.dropped.wait()),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if client.dropped.is_set() and websocket.client_state == WebSocketState.CONNECTED:
        # A stalled client may never read our close frame either: don't wait on it for long.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                websocket.close(code=WS_TOO_SLOW, reason="too slow: fell behind the live stream"), CLOSE_TIMEOUT_S
            )
