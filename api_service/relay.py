"""The live relay: one Redis pub/sub subscription per process, fanned out to every WebSocket client.

The reader task never awaits a client: it puts each message into the client's bounded queue with
`put_nowait`, and a client whose queue is full is dropped (its `dropped` event is set and its
WebSocket handler closes it), so one slow or stalled client cannot delay the others or grow memory.
If Redis goes away the reader reconnects with capped exponential backoff (tenacity) and resubscribes
by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from contracts.waiting import waiting_async
from contracts.window_results import WindowMetrics

log = logging.getLogger(__name__)

FIRST_RETRY_S = 0.1
POLL_TIMEOUT_S = 1.0


@dataclass(eq=False)
class LiveClient:
    """One WebSocket subscriber: its filters, its bounded queue and whether the relay dropped it."""

    event_type: str | None
    window_size: str | None
    queue: asyncio.Queue[str]
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    breakdown: str | None = None  # None: the windows of whole event types; else that property's value windows

    def wants(self, event_type: object, window_size: object, breakdown: object = None) -> bool:
        return (
            (self.event_type is None or self.event_type == event_type)
            and (self.window_size is None or self.window_size == window_size)
            and self.breakdown == breakdown
        )


class LiveRelay:
    def __init__(
        self, connect: Callable[[], aioredis.Redis], channel: str, queue_size: int, reconnect_max_s: float
    ) -> None:
        self.connect = connect
        self.channel = channel
        self.queue_size = queue_size
        self.reconnect_max_s = reconnect_max_s
        self.clients: set[LiveClient] = set()
        self.subscribed = asyncio.Event()
        self.dropped_total = 0
        self.messages_total = 0
        self._task: asyncio.Task[None] | None = None

    def register(self, event_type: str | None, window_size: str | None, breakdown: str | None = None) -> LiveClient:
        client = LiveClient(event_type, window_size, asyncio.Queue(maxsize=self.queue_size), breakdown=breakdown)
        self.clients.add(client)
        return client

    def unregister(self, client: LiveClient) -> None:
        self.clients.discard(client)

    def fan_out(self, raw: str) -> None:
        """Queue one pub/sub payload (a canonical WindowMetrics JSON) for every client that wants it."""
        routed = _route(raw)
        if routed is None:
            log.warning("ignoring malformed update on %s: %r", self.channel, raw[:200])
            return
        raw, event_type, window_size, breakdown = routed
        self.messages_total += 1
        for client in list(self.clients):
            if not client.wants(event_type, window_size, breakdown):
                continue
            try:
                client.queue.put_nowait(raw)
            except asyncio.QueueFull:
                self.drop(client)

    def drop(self, client: LiveClient) -> None:
        self.clients.discard(client)
        client.dropped.set()
        self.dropped_total += 1
        log.warning("dropped a WebSocket client that fell %d messages behind", self.queue_size)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="live-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run(self) -> None:
        """Subscribe (waiting for Redis with capped backoff), relay until the connection is lost, repeat."""
        while True:
            client, pubsub = await self._subscribe()
            try:
                await self._relay(pubsub)
            except (RedisError, OSError) as error:
                log.warning("live relay lost Redis (%s); reconnecting", error)
            finally:
                self.subscribed.clear()
                await _close(client, pubsub)

    async def _subscribe(self) -> tuple[aioredis.Redis, PubSub]:
        async for attempt in waiting_async(
            f"Redis to relay {self.channel}", log, (RedisError, OSError), initial_s=FIRST_RETRY_S,
            max_s=self.reconnect_max_s, level=logging.WARNING,
        ):
            with attempt:
                client = self.connect()
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                try:
                    await pubsub.subscribe(self.channel)
                except BaseException:
                    await _close(client, pubsub)
                    raise
        self.subscribed.set()
        log.info("live relay subscribed to %s", self.channel)
        return client, pubsub

    async def _relay(self, pubsub: PubSub) -> None:
        while True:
            message = await pubsub.get_message(timeout=POLL_TIMEOUT_S)
            if message is not None and message["type"] == "message":
                self.fan_out(message["data"])
                # A burst can be parsed from one socket read without awaiting anything: yield so the
                # client senders drain their queues between messages instead of after the burst.
                await asyncio.sleep(0)


class _NotJson(ValueError):
    """A NaN or Infinity token, which Python's json module reads but JSON does not have."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(name)


def _route(raw: str) -> tuple[str, Any, Any, Any] | None:
    """(the message as strict JSON, its event_type, window_size and breakdown); None if not a window message."""
    try:
        message = json.loads(raw, parse_constant=_refuse_constant)
    except _NotJson:
        # NaN or Infinity from a writer older than the value bound: re-encoded, the sum as null.
        try:
            raw = WindowMetrics.from_json(raw).to_json()
        except (ValueError, ValidationError):
            return None
        message = json.loads(raw)
    except ValueError:
        return None
    try:
        return raw, message["event_type"], message["window_size"], message.get("breakdown")
    except (TypeError, KeyError, AttributeError):
        return None


async def _close(client: aioredis.Redis, pubsub: PubSub) -> None:
    with contextlib.suppress(RedisError, OSError):
        await pubsub.aclose()  # type: ignore[no-untyped-call]
    with contextlib.suppress(RedisError, OSError):
        await client.aclose()
