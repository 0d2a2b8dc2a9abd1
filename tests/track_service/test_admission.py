"""The limit on live event types (issue 14 point 2) against the real Redis and Kafka: refused past the limit
with a 422 naming it, counted, shared by replicas, freed when a type goes quiet, open when Redis is down."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis

from contracts.redis_keys import RedisKeys
from harness.infra import Infra, free_port, unique_name
from harness.kafka import read_topic
from harness.waiting import wait_until
from tests.track_service.fixtures import RunningService, service_settings
from track_service.settings import Settings


@pytest.fixture
def prefix(redis_client: redis.Redis) -> Iterator[str]:
    name = unique_name("admission")
    yield name
    redis_client.delete(RedisKeys(name).admitted_event_types)


def limited(infra: Infra, topic: str, prefix: str, **overrides: Any) -> Settings:
    return service_settings(infra, topic, redis_key_prefix=prefix, track_max_event_types=3, **overrides)


def event(event_type: str, user: str = "u-1") -> dict[str, str]:
    return {"event_type": event_type, "user_id": user}


def rejected_by_limit(service: RunningService) -> float:
    for line in httpx.get(f"{service.url}/internal/metrics").text.splitlines():
        if line.startswith('track_events_rejected_total{reason="event_type_limit"}'):
            return float(line.split()[-1])
    return 0.0


def test_new_event_types_past_the_limit_are_refused_and_counted(
    infra: Infra, events_topic: str, prefix: str, serve: Callable[[Settings], RunningService]
) -> None:
    service = serve(limited(infra, events_topic, prefix))
    for name in ("a", "b", "c"):
        assert httpx.post(f"{service.url}/track", json=event(name)).status_code == 202

    refused = httpx.post(f"{service.url}/track", json=event("d"))
    batch = httpx.post(f"{service.url}/track/batch", json={"events": [event("a"), event("e"), event("c")]})

    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "event_type", "message": refused.json()["errors"][0]["message"]}]
    assert "limit of 3 live event types (TRACK_MAX_EVENT_TYPES)" in refused.json()["detail"]
    assert batch.status_code == 202
    assert [item["status"] for item in batch.json()["results"]] == ["accepted", "rejected", "accepted"]
    assert batch.json()["results"][1]["errors"][0]["field"] == "events[1].event_type"
    assert rejected_by_limit(service) == 2
    assert "track_live_event_types 3.0" in httpx.get(f"{service.url}/internal/metrics").text
    published = sorted(message.value() or b"" for message in read_topic(infra.kafka_bootstrap, events_topic))
    assert len(published) == 5 and not any(b'"d"' in value or b'"e"' in value for value in published)


def test_replicas_admitting_at_once_never_pass_the_limit_together(
    infra: Infra, events_topic: str, prefix: str, serve: Callable[[Settings], RunningService]
) -> None:
    replicas = [serve(limited(infra, events_topic, prefix)) for _ in range(2)]

    async def send_all() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as client:
            posts = [client.post(f"{replicas[n % 2].url}/track", json=event(f"type-{n}")) for n in range(12)]
            return [response.status_code for response in await asyncio.gather(*posts)]

    statuses = asyncio.run(send_all())

    assert sorted(statuses) == [202] * 3 + [422] * 9


def test_a_type_that_goes_quiet_frees_its_slot(
    infra: Infra, events_topic: str, prefix: str, serve: Callable[[Settings], RunningService]
) -> None:
    service = serve(limited(infra, events_topic, prefix, event_type_quiet_s=1, track_admission_cache_s=0.2))
    # One client: the four requests must fit in the quiet second (a new httpx client per request costs ~0.3 s on
    # a loaded machine, loading TLS certificates).
    with httpx.Client(base_url=service.url) as client:
        for name in ("a", "b", "c"):
            assert client.post("/track", json=event(name)).status_code == 202
        assert client.post("/track", json=event("d")).status_code == 422

        # After a second without events the three are pruned; "d" is admitted once the refusal cache expires.
        wait_until(lambda: client.post("/track", json=event("d")).status_code == 202, 10,
                   "a slot freed by the quiet types")


def test_events_are_admitted_unchecked_while_redis_does_not_answer(
    infra: Infra, events_topic: str, prefix: str, serve: Callable[[Settings], RunningService]
) -> None:
    service = serve(limited(infra, events_topic, prefix, redis_port=free_port()))

    statuses = [httpx.post(f"{service.url}/track", json=event(f"type-{n}")).status_code for n in range(5)]

    assert statuses == [202] * 5, "past the limit of 3, since nothing could be checked"
    metrics = httpx.get(f"{service.url}/internal/metrics").text
    assert "track_admission_unchecked_total 5.0" in metrics
    health = httpx.get(f"{service.url}/health")
    assert health.status_code == 200 and health.json()["event_type_limit"].startswith("unchecked")


def test_an_open_service_says_so_at_start(
    infra: Infra, events_topic: str, serve: Callable[[Settings], RunningService], caplog: pytest.LogCaptureFixture
) -> None:
    serve(service_settings(infra, events_topic, track_api_keys=""))
    assert "write keys are off (TRACK_API_KEYS is empty)" in caplog.text
