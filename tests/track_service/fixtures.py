"""Fixtures of the ingestion tests: the service on a free port against a unique topic, Kafka readers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import uvicorn

from harness.infra import Infra, free_port, unique_name
from harness.stores import delete_prefix
from harness.waiting import wait_until
from track_service.app import create_app
from track_service.settings import Settings


def service_settings(infra: Infra, topic: str, bootstrap: str | None = None, **overrides: Any) -> Settings:
    """The service on `infra` (its Kafka unless `bootstrap` says otherwise), with a Redis key prefix of its own
    (the shared event_id memory lives there)."""
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": bootstrap or infra.kafka_bootstrap,
        "kafka_events_topic": topic,
        "redis_host": infra.redis_host,
        "redis_port": infra.redis_port,
        "redis_password": infra.redis_password,
        "redis_key_prefix": unique_name("track"),
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
def serve(redis_client: redis.Redis) -> Iterator[Callable[[Settings], RunningService]]:
    """Start services (stopped after the test, their Redis keys deleted): `serve(settings)` -> RunningService."""
    running: list[RunningService] = []

    def start(settings: Settings) -> RunningService:
        service = RunningService(settings).start()
        running.append(service)
        return service

    yield start
    for service in running:
        service.stop()
    for prefix in {service.settings.redis_key_prefix for service in running}:
        delete_prefix(redis_client, prefix)


@pytest.fixture
def events_topic(make_topic: Callable[..., str]) -> str:
    return make_topic(partitions=3)


@pytest.fixture
def service(infra: Infra, events_topic: str, serve: Callable[[Settings], RunningService]) -> RunningService:
    return serve(service_settings(infra, events_topic))

