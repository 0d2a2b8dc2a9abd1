"""The whole pipeline from `docker compose up -d --wait`: an event in through track_service comes
back out of api_service as a window. Needs a Docker engine; skipped (saying so) where none answers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.compose.conftest import COMPOSE_FILE, REPO_ROOT

pytestmark = pytest.mark.docker


def docker_engine_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, str]]:
    if not docker_engine_answers():
        pytest.skip("no Docker engine answers (`docker info` fails): only the static compose checks ran")
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker compose plugin is missing: `up --wait` needs Compose v2")
    # Own project name and free host ports: never collides with the local stack or a user's stack.
    env = {**os.environ, **{name: str(free_port()) for name in (
        "KAFKA_HOST_PORT", "REDIS_HOST_PORT", "POSTGRES_HOST_PORT", "FLINK_UI_PORT", "TRACK_PORT", "API_PORT",
        "SYNC_METRICS_PORT")}}
    compose = ["docker", "compose", "-p", f"ra-e2e-{uuid.uuid4().hex[:8]}", "-f", str(COMPOSE_FILE)]
    try:
        up = subprocess.run([*compose, "up", "-d", "--build", "--wait", "--wait-timeout", "600"],
                            env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800)
        if up.returncode != 0:
            logs = subprocess.run([*compose, "logs", "--tail", "40"], env=env, capture_output=True, text=True)
            pytest.fail(f"compose up --wait failed:\n{up.stderr[-3000:]}\n{logs.stdout[-6000:]}")
        yield env
    finally:
        subprocess.run([*compose, "down", "-v", "--remove-orphans"], env=env, capture_output=True, timeout=300)


def http_json(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_an_event_tracked_comes_back_as_a_window(stack: dict[str, str]) -> None:
    event_type = f"e2e{uuid.uuid4().hex[:8]}"
    track = f"http://localhost:{stack['TRACK_PORT']}"
    api = f"http://localhost:{stack['API_PORT']}"
    for value in (1.5, 2.5):
        http_json("POST", f"{track}/track", {"event_type": event_type, "user_id": "u-1", "value": value})
    # The window closes when the watermark (heartbeats every 5 s) passes its end: allow two minutes.
    deadline = time.monotonic() + 120
    entries: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not entries:
        answer = http_json("GET", f"{api}/metrics/realtime?event_type={event_type}&window_size=30s")
        entries = answer.get("entries", [])
        time.sleep(1)
    assert entries, f"no window for {event_type} within 120 s"
    assert max(entry["count"] for entry in entries) == 2
    assert max(entry["total_value"] for entry in entries) == pytest.approx(4.0)
