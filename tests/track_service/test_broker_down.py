"""Kafka gone: the service answers 503 with Retry-After and claims nothing; back: the retry lands once.

Runs its own broker on free ports in a temporary folder: the shared stack is never touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from harness.infra import REPO_ROOT, Infra, free_port
from harness.kafka import read_topic
from localstack.infra import Kafka
from localstack.settings import StackSettings
from tests.track_service.fixtures import RunningService, service_settings
from track_service.settings import Settings


def kill_broker(broker: Kafka) -> None:
    """SIGKILL, like a crash, and keep it down (its supervisord would otherwise restart it at once)."""
    broker.kill()


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[Kafka]:
    port = free_port()
    broker = Kafka("kafka", StackSettings(
        run_dir=tmp_path, kafka_bootstrap_servers=f"localhost:{port}", kafka_controller_port=free_port(),
        kafka_topic_partitions=3, kafka_heap="256m",
    ))
    broker.up()
    yield broker
    broker.stop()


def test_broker_down_gets_503_and_claims_nothing_then_the_retry_lands_once(
    infra: Infra, private_broker: Kafka, serve: Callable[[Settings], RunningService]
) -> None:
    bootstrap = private_broker.settings.kafka_bootstrap_servers
    service = serve(service_settings(infra, "events", bootstrap, track_delivery_timeout_ms=2000,
                                     track_retry_after_s=7))
    before = httpx.post(f"{service.url}/track", json={"event_type": "click", "user_id": "u", "event_id": "up-1"})
    assert before.status_code == 202, before.text

    kill_broker(private_broker)
    event = {"event_type": "click", "user_id": "u", "event_id": "down-1"}
    down = httpx.post(f"{service.url}/track", json=event, timeout=30)
    assert down.status_code == 503, down.text
    assert down.headers["retry-after"] == "7"
    assert "nothing was accepted" in down.json()["detail"]
    retried = httpx.post(f"{service.url}/track", json=event, timeout=30)
    assert retried.status_code == 503, "a failed attempt is not remembered as published"
    batch = httpx.post(f"{service.url}/track/batch", json={"events": [event, {"user_id": "x"}]}, timeout=30)
    assert batch.status_code == 503
    assert [item["status"] for item in batch.json()["results"]] == ["failed", "rejected"]
    assert httpx.get(f"{service.url}/health", timeout=30).status_code == 503
    metrics = httpx.get(f"{service.url}/internal/metrics").text
    assert 'track_events_accepted_total{endpoint="track"} 1.0' in metrics, "only the event before the crash"

    private_broker.up()
    recovered = httpx.post(f"{service.url}/track", json=event, timeout=30)
    assert recovered.status_code == 202, recovered.text
    assert recovered.json()["duplicate"] is False
    stored = sorted(message.key() or b"" for message in read_topic(bootstrap, "events"))
    ids = sorted((message.value() or b"").decode() for message in read_topic(bootstrap, "events"))
    assert len(stored) == 2 and '"down-1"' in ids[0] and '"up-1"' in ids[1], ids


def run_service_main(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "track_service"], env={**os.environ, **env}, cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=60,
    )


def test_bad_configuration_stops_at_start_with_one_line() -> None:
    done = run_service_main({"TRACK_PORT": "eighty", "TRACK_API_KEYS": "a,,b"})
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "TRACK_PORT" in done.stderr and "TRACK_API_KEYS" in done.stderr


def test_unreachable_kafka_at_start_is_one_clear_line() -> None:
    done = run_service_main({"KAFKA_BOOTSTRAP_SERVERS": f"localhost:{free_port()}", "TRACK_STARTUP_TIMEOUT_S": "2"})
    assert done.returncode == 1
    assert "did not answer within 2s" in done.stderr and "KAFKA_BOOTSTRAP_SERVERS" in done.stderr, done.stderr
