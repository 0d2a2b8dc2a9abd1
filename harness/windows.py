"""Window results for tests and benchmarks: a factory, and a collector of the pub/sub updates channel."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

import redis

from contracts.window_results import WindowMetrics
from contracts.windows import format_duration
from harness.waiting import wait_until

WindowKey = tuple[str, str, int]  # (event_type, window_size, window_start), as WindowMetrics.key


def make_window(
    event_type: str, window_start: int, count: int = 1, size_s: int = 30,
    total_value: float | None = None, unique_users: int | None = None,
) -> WindowMetrics:
    """A window result; the sum and distinct users are plausible numbers derived from `count` unless given."""
    return WindowMetrics(
        window_start=window_start,
        window_end=window_start + size_s * 1000,
        count=count,
        total_value=count * 1.5 if total_value is None else total_value,
        unique_users=max(1, count // 2) if unique_users is None else unique_users,
        event_type=event_type,
        window_size=format_duration(size_s),
    )


@dataclass(frozen=True)
class Arrival:
    window: WindowMetrics
    at_s: float  # wall clock (time.time()) when the message arrived


@dataclass
class UpdatesCollector:
    """Collects every window published on an updates channel, with its arrival time, in a background thread."""

    client: redis.Redis
    channel: str
    arrivals: list[Arrival] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def messages(self) -> list[WindowMetrics]:
        return [arrival.window for arrival in list(self.arrivals)]

    def start(self) -> UpdatesCollector:
        pubsub = self.client.pubsub()  # type: ignore[no-untyped-call]
        pubsub.subscribe(self.channel)
        wait_until(lambda: pubsub.get_message(timeout=0.5), 10, f"the subscription to {self.channel}")

        def run() -> None:
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=0.2)
                if message and message["type"] == "message":
                    at_s = time.time()
                    self.arrivals.append(Arrival(WindowMetrics.model_validate(json.loads(message["data"])), at_s))
            pubsub.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
