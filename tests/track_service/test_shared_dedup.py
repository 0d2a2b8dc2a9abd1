"""The event_id memory shared by replicas through Redis (issue 18): a retry on another replica is published
once, concurrent retries share the first attempt's outcome, a dead holder's claim frees itself, and Redis down
means publishing with only the in-process memory (the documented choice)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import redis

from contracts.events import Event
from contracts.redis_keys import RedisKeys
from harness.infra import Infra, free_port, unique_name
from harness.kafka import read_topic
from harness.waiting import wait_until
from tests.track_service.fixtures import RunningService, service_settings
from track_service.settings import Settings

Serve = Callable[[Settings], RunningService]


def published_ids(infra: Infra, topic: str) -> list[str]:
    return sorted(Event.from_kafka_value(message.value() or b"").event_id
                  for message in read_topic(infra.kafka_bootstrap, topic))


def replicas(infra: Infra, topic: str, serve: Serve, count: int = 2, **overrides: Any) -> list[RunningService]:
    """`count` services on one topic and one Redis key prefix sharing their event_ids (TRACK_DEDUP_SHARED), as
    replicas behind a proxy would be."""
    settings = service_settings(infra, topic, redis_key_prefix=unique_name("replicas"), track_dedup_shared=True,
                                **overrides)
    return [serve(settings) for _ in range(count)]


def click(event_id: str) -> dict[str, str]:
    return {"event_type": "click", "user_id": "u-1", "event_id": event_id}


def metric(service: RunningService, name: str) -> float:
    for line in httpx.get(f"{service.url}/internal/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_a_retry_on_another_replica_is_published_once(infra: Infra, events_topic: str, serve: Serve,
                                                     redis_client: redis.Redis) -> None:
    first, second = replicas(infra, events_topic, serve)

    sent = httpx.post(f"{first.url}/track", json=click("r-1"))
    retried = httpx.post(f"{second.url}/track", json=click("r-1"))
    batch = httpx.post(f"{second.url}/track/batch", json={"events": [click("r-1"), click("r-2"), click("r-2")]})
    anonymous = [httpx.post(f"{replica.url}/track", json={"event_type": "click", "user_id": "u"})
                 for replica in (first, second)]

    assert (sent.status_code, retried.status_code) == (202, 202)
    assert (sent.json()["duplicate"], retried.json()["duplicate"]) == (False, True)
    assert [(item["status"], item["duplicate"]) for item in batch.json()["results"]] == [
        ("accepted", True), ("accepted", False), ("accepted", True)]
    assert all(response.status_code == 202 and not response.json()["duplicate"] for response in anonymous)
    ids = published_ids(infra, events_topic)
    assert [event_id for event_id in ids if event_id.startswith("r-")] == ["r-1", "r-2"]
    assert len(ids) == 4, "events without a client event_id are never deduplicated"
    keys = RedisKeys(first.settings.redis_key_prefix)
    attempt = keys.dedup_attempt(str(redis_client.get(keys.dedup("r-1"))))
    wait_until(lambda: redis_client.get(attempt) == "d", 10, "r-1's attempt marked published in Redis")
    for key in (keys.dedup("r-1"), attempt):
        remaining_ms = redis_client.pttl(key)
        assert isinstance(remaining_ms, int) and 590_000 < remaining_ms <= 600_000, "kept for TRACK_DEDUP_HORIZON_S"
    assert httpx.get(f"{second.url}/health").json()["event_id_dedup"] == "shared"


def test_one_replica_remembers_event_ids_itself_unless_told_to_share(
    infra: Infra, events_topic: str, serve: Serve, redis_client: redis.Redis,
) -> None:
    service = serve(service_settings(infra, events_topic, redis_key_prefix=unique_name("alone")))

    sent, retried = (httpx.post(f"{service.url}/track", json=click("a-1")) for _ in range(2))

    assert (sent.json()["duplicate"], retried.json()["duplicate"]) == (False, True)
    assert [event_id for event_id in published_ids(infra, events_topic) if event_id == "a-1"] == ["a-1"]
    assert redis_client.exists(RedisKeys(service.settings.redis_key_prefix).dedup("a-1")) == 0, "not in Redis"
    assert httpx.get(f"{service.url}/health").json()["event_id_dedup"] == "in-process"


def test_concurrent_retries_across_replicas_share_one_publication(
    infra: Infra, events_topic: str, serve: Serve
) -> None:
    services = replicas(infra, events_topic, serve)

    async def retries() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(*(client.post(f"{services[n % 2].url}/track", json=click("c-1"))
                                          for n in range(20)))

    responses = asyncio.run(retries())

    assert {response.status_code for response in responses} == {202}
    assert sum(not response.json()["duplicate"] for response in responses) == 1
    assert published_ids(infra, events_topic) == ["c-1"]


def test_a_failed_attempt_frees_its_ids_and_its_concurrent_retries_elsewhere_fail_with_it(
    infra: Infra, events_topic: str, serve: Serve
) -> None:
    # The first replica's Kafka does not answer: its attempts fail after the delivery timeout.
    healthy = service_settings(infra, events_topic, redis_key_prefix=unique_name("replicas"), track_dedup_shared=True)
    broken = healthy.model_copy(update={"kafka_bootstrap_servers": f"127.0.0.1:{free_port()}",
                                        "track_create_topic": False, "track_delivery_timeout_ms": 1500})
    failing, working = serve(broken), serve(healthy)

    async def at_once() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            first = asyncio.ensure_future(client.post(f"{failing.url}/track", json=click("f-1")))
            await asyncio.sleep(0.3)  # the failing replica holds f-1 by now
            second = await client.post(f"{working.url}/track", json=click("f-1"))
            return await first, second

    first, concurrent = asyncio.run(at_once())
    assert first.status_code == 503 and first.headers["retry-after"]
    assert concurrent.status_code == 503, "it waited for the holder and shares its failure"
    assert "earlier attempt with this event_id failed" in concurrent.json()["detail"]

    retried = httpx.post(f"{working.url}/track", json=click("f-1"))
    assert retried.status_code == 202 and retried.json()["duplicate"] is False
    assert published_ids(infra, events_topic) == ["f-1"]


def test_the_claim_of_a_process_that_died_frees_itself(
    infra: Infra, events_topic: str, serve: Serve, redis_client: redis.Redis
) -> None:
    [service] = replicas(infra, events_topic, serve, count=1)
    # As a process killed while publishing leaves it: a claim, and its attempt pending until the publication bound.
    keys = RedisKeys(service.settings.redis_key_prefix)
    redis_client.set(keys.dedup("dead-1"), "p:gone:0", px=600_000)
    redis_client.set(keys.dedup_attempt("p:gone:0"), "p", px=1500)

    during = httpx.post(f"{service.url}/track", json=click("dead-1"), timeout=30)
    after = httpx.post(f"{service.url}/track", json=click("dead-1"))

    assert during.status_code == 503, "the outcome of the dead attempt is unknown: retry"
    assert after.status_code == 202 and after.json()["duplicate"] is False
    assert published_ids(infra, events_topic) == ["dead-1"]


@pytest.mark.parametrize("endpoint", ["/track", "/track/batch"])
def test_without_redis_events_are_published_with_the_in_process_memory_only(
    infra: Infra, events_topic: str, serve: Serve, endpoint: str
) -> None:
    first, second = replicas(infra, events_topic, serve, redis_port=free_port())

    def send(service: RunningService, event_id: str) -> bool:
        body: Any = click(event_id) if endpoint == "/track" else {"events": [click(event_id)]}
        response = httpx.post(f"{service.url}{endpoint}", json=body)
        assert response.status_code == 202, response.text
        answer = response.json() if endpoint == "/track" else response.json()["results"][0]
        return bool(answer["duplicate"])

    assert [send(first, "n-1"), send(first, "n-1"), send(second, "n-1")] == [False, True, False]

    assert published_ids(infra, events_topic) == ["n-1", "n-1"], "the documented risk: one copy per replica"
    assert metric(first, "track_dedup_unshared_total") == 2.0, "both attempts went without the shared memory"
    assert httpx.get(f"{first.url}/health").json()["event_id_dedup"] == "in-process only: Redis does not answer"
