"""Fixtures of the ingestion tests: the service on a free port against a unique topic, Kafka readers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn

from harness.infra import Infra, free_port
from harness.waiting import wait_until
from track_service.app import create_app
from track_service.settings import Settings


def service_settings(bootstrap: str, topic: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": bootstrap,
        "kafka_events_topic": topic,
        "kafka_topic_partitions": 3,
        "track_delivery_timeout_ms": 5000,
        "track_api_keys": "",
        "track_max_event_types": 0,  # no admission limit (no Redis) unless a test asks for one
        **overrides,
    }
    return Settings(**values)


class RunningService:
    """create_app() served by uvicorn in a thread, like `python -m track_service` minus the process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"track-{self.port}", daemon=True)

    def start(self) -> RunningService:
        self.thread.start()
        wait_until(lambda: self.server.started or not self.thread.is_alive(), 60, "track_service to start")
        if not self.server.started:
            pytest.fail("track_service did not start (see the log above)")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture
def serve() -> Iterator[Callable[[Settings], RunningService]]:
    """Start services (stopped after the test): `serve(settings)` -> RunningService."""
    running: list[RunningService] = []

    def start(settings: Settings) -> RunningService:
        service = RunningService(settings).start()
        running.append(service)
        return service

    yield start
    for service in running:
        service.stop()


@pytest.fixture
def events_topic(make_topic: Callable[..., str]) -> str:
    return make_topic(partitions=3)


@pytest.fixture
def service(infra: Infra, events_topic: str, serve: Callable[[Settings], RunningService]) -> RunningService:
    return serve(service_settings(infra.kafka_bootstrap, events_topic))

