"""The whole pipeline as a user sees it, checked window by window against the Python oracle.

Events go over HTTP to /track and /track/batch (track_service), through Kafka and the Flink job
into Redis, out through /metrics/realtime and the /live-metrics WebSocket (api_service), then
into PostgreSQL by the sync worker and out through /metrics/history.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from contracts.events import Event, now_ms
from contracts.window_results import WindowMetrics
from contracts.windows import parse_window_specs
from harness.flink_job import PrivateJob
from harness.infra import Infra, free_port
from harness.services import ServiceProcess
from harness.stores import fetch_rows
from harness.waiting import wait_until
from harness.windows import WindowKey
from tests.oracle import expected_windows, generate_events

pytestmark = pytest.mark.flink

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


def by_key(windows: list[WindowMetrics]) -> dict[WindowKey, WindowMetrics]:
    return {window.key: window for window in windows}


def api_windows(
    client: httpx.Client, path: str, sizes_ms: dict[str, int], **params: Any
) -> dict[WindowKey, WindowMetrics]:
    """Every window the API answers for the test's event types and window sizes (label -> size)."""
    found: dict[WindowKey, WindowMetrics] = {}
    for event_type in EVENT_TYPES:
        for label, size_ms in sizes_ms.items():
            response = client.get(path, params={"event_type": event_type, "window_size": label, "limit": 1000,
                                                **params})
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["event_type"], body["window_size"]) == (event_type, label)
            starts = [entry["window_start"] for entry in body["entries"]]
            assert starts == sorted(starts, reverse=True), "entries must come newest first"
            for entry in body["entries"]:
                assert set(entry) == {"window_start", "count", "total_value", "unique_users"}
                window = WindowMetrics(window_end=entry["window_start"] + size_ms, event_type=event_type,
                                       window_size=label, **entry)
                found[window.key] = window
    return found


def pg_windows(infra: Infra, schema: str) -> dict[WindowKey, WindowMetrics]:
    windows = fetch_rows(infra.postgres_dsn, schema)
    assert len(windows) == len(by_key(windows)), "a window stored twice"
    return by_key(windows)


@pytest.mark.parametrize("window_specs", ["30s/10s", "30s/10s,1m/20s"])
def test_pipeline_matches_the_oracle_everywhere(
    window_specs: str,
    infra: Infra,
    pg_schema: str,
    start_job: Callable[..., PrivateJob],
    run_service: Callable[..., ServiceProcess],
) -> None:
    specs = parse_window_specs(window_specs)
    labels = {spec.label: spec.size_ms for spec in specs}
    job = start_job(window_specs=window_specs, partitions=3)
    shared_env = {
        **infra.service_env(),
        "KAFKA_EVENTS_TOPIC": job.settings.kafka_events_topic,
        "REDIS_KEY_PREFIX": job.settings.redis_key_prefix,
        "POSTGRES_SCHEMA": pg_schema,
    }
    track_port, api_port, sync_port = free_port(), free_port(), free_port()
    run_service("track_service", {**shared_env, "TRACK_PORT": str(track_port)},
                f"http://127.0.0.1:{track_port}/health")
    run_service("api_service", {**shared_env, "API_PORT": str(api_port)}, f"http://127.0.0.1:{api_port}/health")
    live = LiveClient(f"ws://127.0.0.1:{api_port}/live-metrics")

    now = now_ms()
    base = now - now % 60_000 - 600_000
    events = generate_events(random.Random(42), start_ms=base, duration_ms=90_000, count=600,
                             event_types=EVENT_TYPES)
    with httpx.Client(base_url=f"http://127.0.0.1:{track_port}", timeout=30) as track:
        for event in events[:60]:
            response = track.post("/track", json=as_request(event))
            assert response.status_code == 202, response.text
        for start in range(60, len(events), 150):
            chunk = events[start:start + 150]
            response = track.post("/track/batch", json={"events": [as_request(e) for e in chunk]})
            assert response.status_code == 202, response.text
    job.heartbeat(base + 300_000)

    expected = expected_windows(events, specs)
    job.wait_for_windows(len(expected))
    with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=30) as api:
        assert api_windows(api, "/metrics/realtime", labels) == expected
        assert api_windows(api, "/metrics", labels) == expected

        wait_until(lambda: len(live.messages) >= len(expected), 30, "every window over the WebSocket")
        live.close()
        assert len(live.messages) == len(expected), "a window was sent twice"
        assert by_key(live.messages) == expected

        # Every window is long closed: the sync worker moves them all to PostgreSQL.
        run_service("sync_service", {**shared_env, "SYNC_METRICS_PORT": str(sync_port), "SYNC_INTERVAL_S": "0.5"},
                    f"http://127.0.0.1:{sync_port}/metrics")
        wait_until(lambda: not job.redis_windows(), 60, "Redis drained by the sync worker")
        assert pg_windows(infra, pg_schema) == expected
        window_range = {
            "start_time": datetime.fromtimestamp((base - 120_000) / 1000, UTC).isoformat(),
            "end_time": (datetime.fromtimestamp(base / 1000, UTC) + timedelta(minutes=5)).isoformat(),
        }
        assert api_windows(api, "/metrics/history", labels, **window_range) == expected
