"""The end-to-end oracle check, for any running pipeline: the local processes (tests/e2e) and the
Compose stack (tests/compose/test_stack.py) run this same check.

Events go over HTTP to /track and /track/batch (track_service), through Kafka and the Flink job
into Redis, out through /metrics/realtime and the /live-metrics WebSocket (api_service), then
into PostgreSQL by the sync worker and out through /metrics/history; each must equal the oracle.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import redis
from websockets.sync.client import connect

from contracts.events import Event
from contracts.redis_keys import RedisKeys
from contracts.window_results import WindowMetrics
from contracts.windows import WindowSpec
from harness.stores import fetch_rows
from harness.waiting import wait_until
from harness.windows import WindowKey
from tests.oracle import expected_windows

EVENT_TYPES = ("click", "view", "purchase")


def as_request(event: Event) -> dict[str, Any]:
    return event.model_dump()


class LiveClient:
    """A real WebSocket client collecting every message in a thread."""

    def __init__(self, url: str) -> None:
        self.messages: list[WindowMetrics] = []
        self._socket = connect(url, open_timeout=10)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for raw in self._socket:
                self.messages.append(WindowMetrics.model_validate(json.loads(raw)))
        except Exception:  # closed by close()
            pass

    def close(self) -> None:
        self._socket.close()
        self._thread.join(5)


def by_key(windows: Iterable[WindowMetrics]) -> dict[WindowKey, WindowMetrics]:
    return {window.key: window for window in windows}


def api_windows(
    client: httpx.Client, path: str, sizes_ms: dict[str, int], event_types: Collection[str], **params: Any
) -> dict[WindowKey, WindowMetrics]:
    """Every window the API answers for these event types and window sizes (label -> size)."""
    found: dict[WindowKey, WindowMetrics] = {}
    for event_type in event_types:
        for label, size_ms in sizes_ms.items():
            response = client.get(path, params={"event_type": event_type, "window_size": label, "limit": 1000,
                                                **params})
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["event_type"], body["window_size"]) == (event_type, label)
            starts = [entry["window_start"] for entry in body["entries"]]
            assert starts == sorted(starts, reverse=True), "entries must come newest first"
            for entry in body["entries"]:
                # The seed's entry, then the additions (percentiles): nothing renamed, nothing missing.
                assert list(entry) == ["window_start", "count", "total_value", "unique_users", "p50", "p95", "p99"]
                window = WindowMetrics(window_end=entry["window_start"] + size_ms, event_type=event_type,
                                       window_size=label, **entry)
                found[window.key] = window
    return found


def history_range(events: list[Event]) -> dict[str, str]:
    """start_time/end_time params of /metrics/history covering every window of these events."""
    first, last = min(e.timestamp for e in events), max(e.timestamp for e in events)
    return {
        "start_time": datetime.fromtimestamp((first - 120_000) / 1000, UTC).isoformat(),
        "end_time": datetime.fromtimestamp((last + 300_000) / 1000, UTC).isoformat(),
    }


def pg_windows(
    postgres_dsn: str, schema: str, event_types: Collection[str], sizes: Collection[str]
) -> dict[WindowKey, WindowMetrics]:
    """The rows of `schema`.metrics for these event types and window sizes; fails on a window stored twice."""
    windows = [window for window in fetch_rows(postgres_dsn, schema)
               if window.event_type in event_types and window.window_size in sizes]
    assert len(windows) == len(by_key(windows)), "a window stored twice"
    return by_key(windows)


def redis_windows(
    client: redis.Redis, keys: RedisKeys, event_types: Collection[str], sizes: Collection[str]
) -> dict[WindowKey, WindowMetrics]:
    """The windows in Redis under `keys` for these event types and window sizes; fails on a second member for
    one window."""
    windows: dict[WindowKey, WindowMetrics] = {}
    for event_type in event_types:
        for key in (keys.windows(event_type, size) for size in sizes):
            members: list[str] = client.zrange(key, 0, -1)  # type: ignore[assignment]
            for member in members:
                window = WindowMetrics.from_json(member)
                assert window.key not in windows, f"window {window.key} stored twice"
                windows[window.key] = window
    return windows


def send_events(
    track_url: str, events: list[Event], singles: int = 60, batch_size: int = 150,
    headers: Mapping[str, str] | None = None,
) -> None:
    """The first `singles` events one by one over /track, the rest over /track/batch; each must be accepted.
    `headers`: e.g. the write key."""
    with httpx.Client(base_url=track_url, timeout=30, headers=dict(headers or {})) as track:
        for event in events[:singles]:
            response = track.post("/track", json=as_request(event))
            assert response.status_code == 202, response.text
        for start in range(singles, len(events), batch_size):
            chunk = events[start:start + batch_size]
            response = track.post("/track/batch", json={"events": [as_request(e) for e in chunk]})
            assert response.status_code == 202, response.text


@dataclass
class Pipeline:
    """A running pipeline as the check sees it: where it answers, and what the check must do to it."""

    track_url: str
    api_url: str
    postgres_dsn: str
    pg_schema: str
    # The windows of the check's event types in Redis.
    redis_windows: Callable[[], dict[WindowKey, WindowMetrics]]
    # Make every window of the events sent close (a heartbeat past them, or wait for the stack's own).
    close_windows: Callable[[], object]
    # The sync worker is not running until this is called (so /metrics/realtime still has every window).
    start_sync: Callable[[], object]
    windows_timeout_s: float = 90
    # Sent with every /track request (e.g. the write key).
    track_headers: Mapping[str, str] = field(default_factory=dict)


def check_against_oracle(
    pipeline: Pipeline, events: list[Event], specs: list[WindowSpec], event_types: Collection[str] = EVENT_TYPES
) -> None:
    labels = {spec.label: spec.size_ms for spec in specs}
    live = LiveClient(pipeline.api_url.replace("http://", "ws://", 1) + "/live-metrics")
    send_events(pipeline.track_url, events, headers=pipeline.track_headers)
    pipeline.close_windows()

    expected = expected_windows(events, specs)
    wait_until(lambda: len(pipeline.redis_windows()) >= len(expected), pipeline.windows_timeout_s,
               f"{len(expected)} windows in Redis")
    with httpx.Client(base_url=pipeline.api_url, timeout=30) as api:
        assert api_windows(api, "/metrics/realtime", labels, event_types) == expected
        assert api_windows(api, "/metrics", labels, event_types) == expected

        def live_windows() -> list[WindowMetrics]:
            return [window for window in live.messages
                    if window.event_type in event_types and window.window_size in labels]  # the specs checked

        wait_until(lambda: len(live_windows()) >= len(expected), 30, "every window over the WebSocket")
        live.close()
        assert len(live_windows()) == len(expected), "a window was sent twice"
        assert by_key(live_windows()) == expected

        # Every window is closed: the sync worker moves them all to PostgreSQL.
        pipeline.start_sync()
        wait_until(lambda: not pipeline.redis_windows(), 60, "Redis drained by the sync worker")
        assert pg_windows(pipeline.postgres_dsn, pipeline.pg_schema, event_types, labels) == expected
        assert api_windows(api, "/metrics/history", labels, event_types, **history_range(events)) == expected
