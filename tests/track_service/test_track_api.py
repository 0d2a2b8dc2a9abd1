"""The HTTP API against the real Kafka: what is acknowledged is in the topic once, nothing else is."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from contracts.events import MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS, Event
from contracts.events_topic import ensure_topic
from harness.infra import Infra, unique_name
from harness.kafka import end_offsets, read_topic
from tests.track_service.fixtures import RunningService, service_settings
from tools.tail import tail
from track_service.settings import Settings

FULL = {
    "event_type": "purchase",
    "user_id": "user-42",
    "value": 19.99,
    "timestamp": "2024-06-26T09:00:00Z",
    "event_id": "evt-full-1",
    "properties": {"page": "/checkout", "items": [1, 2], "coupon": None},
}


def records(infra: Infra, topic: str) -> list[tuple[bytes | None, Event]]:
    return [(message.key(), Event.from_kafka_value(message.value() or b"")) for message in read_topic(
        infra.kafka_bootstrap, topic)]


def test_accepted_events_arrive_once_with_every_field(infra: Infra, service: RunningService) -> None:
    topic = service.settings.kafka_events_topic
    full = httpx.post(f"{service.url}/track", json=FULL)
    minimal = httpx.post(f"{service.url}/track", json={"event_type": "click", "user_id": "user-7"})
    assert (full.status_code, minimal.status_code) == (202, 202), full.text + minimal.text
    assert full.json() == {"status": "accepted", "event_id": "evt-full-1", "duplicate": False}
    stored = {event.event_id: (key, event) for key, event in records(infra, topic)}
    assert len(stored) == 2
    key, event = stored["evt-full-1"]
    assert key == b"user-42", "partitioned by user_id"
    assert event == Event(event_id="evt-full-1", event_type="purchase", user_id="user-42", value=19.99,
                          timestamp=1_719_392_400_000, properties=FULL["properties"])
    key, generated = stored[minimal.json()["event_id"]]
    assert (key, generated.value, generated.properties) == (b"user-7", 0.0, {})
    assert generated.timestamp > 1_700_000_000_000, "defaults to the time of receipt"


BAD_REQUESTS: list[tuple[str, bytes, dict[str, str], int, str]] = [
    ("not json", b"{event_type: click}", {}, 400, "malformed JSON"),
    ("NaN", b'{"event_type":"click","user_id":"u","value":NaN}', {}, 400, "NaN"),
    ("Infinity", b'{"event_type":"click","user_id":"u","value":Infinity}', {}, 400, "Infinity"),
    ("overflow", b'{"event_type":"click","user_id":"u","value":1e400}', {}, 400, "1e400"),
    ("deep", b'{"event_type":"click","user_id":"u","properties":' + b'{"a":' * 40 + b"1" + b"}" * 41, {},
     400, "nested deeper"),
    ("very deep", b"[" * 30_000 + b"]" * 30_000, {}, 400, "nested deeper"),
    ("latin-1", '{"event_type":"click","user_id":"jos\xe9"}'.encode("latin-1"), {}, 400, "UTF-8"),
    ("missing user", b'{"event_type":"click"}', {}, 422, "user_id"),
    ("string value", b'{"event_type":"click","user_id":"u","value":"3"}', {}, 422, "value"),
    ("value beyond 1e15", b'{"event_type":"click","user_id":"u","value":-1.5e15}', {}, 422,
     "value: Input should be greater than or equal to -1000000000000000"),
    ("bad type slug", b'{"event_type":"DROP TABLE","user_id":"u"}', {}, 422, "event_type"),
    ("bad timestamp", b'{"event_type":"click","user_id":"u","timestamp":"soon"}', {}, 422, "timestamp"),
    ("unknown field", b'{"event_type":"click","user_id":"u","admin":true}', {}, 422, "admin"),
    ("array", b"[]", {}, 422, "body"),
    ("too large", b'{"event_type":"click","user_id":"' + b"u" * 70_000 + b'"}', {}, 413, "limit"),
    ("text/plain", b'{"event_type":"click","user_id":"u"}', {"content-type": "text/plain"}, 415, "application/json"),
    ("xml", b"<event/>", {"content-type": "application/xml"}, 415, "'application/xml'"),
    ("form", b"event_type=click", {"content-type": "application/x-www-form-urlencoded"}, 415, "Content-Type"),
    ("latin-1 charset", b'{"event_type":"click","user_id":"u"}', {"content-type": "application/json; charset=latin-1"},
     415, "charset=latin-1"),
]


def test_bad_inputs_get_4xx_naming_the_problem_and_publish_nothing(
    infra: Infra, events_topic: str, serve: Callable[[Settings], RunningService]
) -> None:
    service = serve(service_settings(infra, events_topic, track_max_body_bytes=65_536))
    failures = []
    for name, body, headers, status, mentions in BAD_REQUESTS:
        response = httpx.post(f"{service.url}/track", content=body,
                              headers={"content-type": "application/json", **headers})
        if response.status_code != status or mentions not in response.json()["detail"]:
            failures.append(f"{name}: {response.status_code} {response.text[:200]}")
    assert not failures, "\n".join(failures)
    assert end_offsets(infra.kafka_bootstrap, events_topic) == 0


def test_the_content_type_must_say_json(infra: Infra, service: RunningService) -> None:
    """Issue 14 point 7: 415 for a body not declared as JSON, on both endpoints; JSON media types pass."""
    body = b'{"event_type":"click","user_id":"u"}'
    for path in ("/track", "/track/batch"):
        missing = httpx.post(f"{service.url}{path}", content=body)
        assert missing.status_code == 415 and "none was sent" in missing.json()["detail"], missing.text
    for content_type in ("application/json", "application/json; charset=UTF-8", "application/vnd.event+json"):
        response = httpx.post(f"{service.url}/track", content=body, headers={"content-type": content_type})
        assert response.status_code == 202, (content_type, response.text)
    assert end_offsets(infra.kafka_bootstrap, service.settings.kafka_events_topic) == 3


def test_body_limit_counts_bytes_read_including_chunked_bodies(
    infra: Infra, events_topic: str, serve: Callable[[Settings], RunningService]
) -> None:
    service = serve(service_settings(infra, events_topic, track_max_body_bytes=4096))

    def chunks(total: int) -> Iterator[bytes]:  # no Content-Length: sent as Transfer-Encoding: chunked
        yield b'{"event_type":"click","user_id":"u","properties":{"pad":"'
        for _ in range(total // 1024):
            yield b"x" * 1024
        yield b'"}}'

    json_type = {"content-type": "application/json"}
    oversized = httpx.post(f"{service.url}/track", content=chunks(8192), headers=json_type)
    assert oversized.status_code == 413, oversized.text
    small = httpx.post(f"{service.url}/track", content=chunks(2048), headers=json_type)
    assert small.status_code == 202, small.text
    assert end_offsets(infra.kafka_bootstrap, events_topic) == 1


def test_batch_accepts_valid_items_and_reports_each(infra: Infra, service: RunningService) -> None:
    batch = {"events": [
        {"event_type": "click", "user_id": "a", "event_id": "b-1"},
        {"event_type": "click", "user_id": "b", "value": "oops"},
        {"event_type": "page_view", "user_id": "c", "value": 3.5, "event_id": "b-3"},
        {"user_id": "d"},
    ]}
    response = httpx.post(f"{service.url}/track/batch", json=batch)
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"], body["failed"]) == (2, 2, 0)
    assert [item["status"] for item in body["results"]] == ["accepted", "rejected", "accepted", "rejected"]
    assert "events[1].value" in body["results"][1]["error"]
    assert "events[3].event_type" in body["results"][3]["error"]
    stored = records(infra, service.settings.kafka_events_topic)
    assert sorted(event.event_id for _, event in stored) == ["b-1", "b-3"]

    all_bad = httpx.post(f"{service.url}/track/batch", json={"events": [{"user_id": "x"}]})
    assert all_bad.status_code == 422 and all_bad.json()["rejected"] == 1
    too_many = httpx.post(f"{service.url}/track/batch", json={"events": [{}] * 1001})
    assert too_many.status_code == 413 and "at most 1000" in too_many.json()["detail"]
    assert end_offsets(infra.kafka_bootstrap, service.settings.kafka_events_topic) == 2


def test_a_batch_larger_than_the_producer_queue_waits_for_room(
    infra: Infra, events_topic: str, serve: Callable[[Settings], RunningService]
) -> None:
    service = serve(service_settings(infra, events_topic, track_producer_queue_events=50))
    batch = {"events": [{"event_type": "click", "user_id": f"u-{i % 7}", "event_id": f"q-{i}"} for i in range(400)]}
    response = httpx.post(f"{service.url}/track/batch", json=batch, timeout=30)
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 400
    stored = records(infra, events_topic)
    assert sorted(event.event_id for _, event in stored) == sorted(f"q-{i}" for i in range(400))


def test_retries_with_the_same_event_id_publish_once(infra: Infra, service: RunningService) -> None:
    event = {"event_type": "click", "user_id": "u-1", "event_id": "retry-1"}
    first = httpx.post(f"{service.url}/track", json=event)
    again = httpx.post(f"{service.url}/track", json=event)
    assert (first.status_code, again.status_code) == (202, 202)
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)

    async def concurrent_retries() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=service.url) as client:
            same = {"event_type": "click", "user_id": "u-2", "event_id": "retry-2"}
            return await asyncio.gather(*(client.post("/track", json=same) for _ in range(20)))

    responses = asyncio.run(concurrent_retries())
    assert {response.status_code for response in responses} == {202}
    assert sum(not response.json()["duplicate"] for response in responses) == 1
    in_batch = httpx.post(f"{service.url}/track/batch", json={"events": [event, event]})
    assert [item["duplicate"] for item in in_batch.json()["results"]] == [True, True]
    new_twice = {**event, "event_id": "retry-3"}
    in_one_batch = httpx.post(f"{service.url}/track/batch", json={"events": [new_twice, new_twice]})
    assert [item["duplicate"] for item in in_one_batch.json()["results"]] == [False, True]
    stored = [event.event_id for _, event in records(infra, service.settings.kafka_events_topic)]
    assert sorted(stored) == ["retry-1", "retry-2", "retry-3"]


def test_concurrent_single_events_are_each_answered_with_their_own_outcome(
    infra: Infra, service: RunningService
) -> None:
    """POST /track requests that arrive together are ingested as one group (track_service/coalescer.py); each
    still gets its own answer: its event_id, its 422, its duplicate flag."""
    bodies: list[dict[str, Any]] = []
    for n in range(60):
        if n % 10 == 3:
            bodies.append({"event_type": "click", "user_id": f"u-{n}", "value": "not a number"})
        elif n % 10 == 7:
            bodies.append({"event_type": "click", "user_id": "u-7", "event_id": "together-7"})  # one id, 6 times
        else:
            bodies.append({"event_type": "click", "user_id": f"u-{n}", "event_id": f"together-{n}"})

    async def send_together() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=service.url, limits=httpx.Limits(max_connections=60)) as client:
            return await asyncio.gather(*(client.post("/track", json=body) for body in bodies))

    responses = asyncio.run(send_together())
    for body, response in zip(bodies, responses, strict=True):
        if body.get("value") == "not a number":
            assert response.status_code == 422 and "value" in response.json()["detail"], response.text
        else:
            assert response.status_code == 202, response.text
            assert response.json()["event_id"] == body["event_id"]
    repeated = [response.json()["duplicate"] for body, response in zip(bodies, responses, strict=True)
                if body.get("event_id") == "together-7"]
    assert sorted(repeated) == [False] + [True] * 5
    stored = sorted(event.event_id for _, event in records(infra, service.settings.kafka_events_topic))
    assert stored == sorted({body["event_id"] for body in bodies if "event_id" in body})


def test_write_keys_are_enforced_when_configured(
    infra: Infra, events_topic: str, serve: Callable[[Settings], RunningService]
) -> None:
    service = serve(service_settings(infra, events_topic, track_api_keys="key-one, key-two"))
    event = {"event_type": "click", "user_id": "u"}
    denied = [
        httpx.post(f"{service.url}/track", json=event),
        httpx.post(f"{service.url}/track", json=event, headers={"X-API-Key": "key-three"}),
        httpx.post(f"{service.url}/track/batch", json={"events": [event]}, headers={"Authorization": "Bearer nope"}),
    ]
    assert [response.status_code for response in denied] == [401, 401, 401]
    assert "write key" in denied[0].json()["detail"]
    allowed = [
        httpx.post(f"{service.url}/track", json=event, headers={"X-API-Key": "key-one"}),
        httpx.post(f"{service.url}/track/batch", json={"events": [event]}, headers={"Authorization": "Bearer key-two"}),
    ]
    assert [response.status_code for response in allowed] == [202, 202]
    assert httpx.get(f"{service.url}/health").status_code == 200, "health needs no key"
    assert end_offsets(infra.kafka_bootstrap, events_topic) == 2


def test_health_metrics_and_docs(service: RunningService) -> None:
    health = httpx.get(f"{service.url}/health")
    assert health.status_code == 200 and health.json()["kafka"] == "reachable"
    httpx.post(f"{service.url}/track", json={"event_type": "click", "user_id": "u"})
    httpx.post(f"{service.url}/track", content=b"{", headers={"content-type": "application/json"})
    metrics = httpx.get(f"{service.url}/internal/metrics").text
    assert 'track_events_accepted_total{endpoint="track"} 1.0' in metrics
    assert 'track_events_rejected_total{reason="invalid_json"} 1.0' in metrics
    assert "track_produce_latency_seconds_count 1.0" in metrics
    openapi = httpx.get(f"{service.url}/openapi.json").json()
    body = openapi["paths"]["/track"]["post"]["requestBody"]["content"]["application/json"]
    assert body["example"]["event_type"] == "click" and "user_id" in body["schema"]["properties"]
    # Issue 14 point 6: the example is not stamped (a fixed time would be accepted, then dropped as late),
    # the timestamp is declared as the server reads it, and every status the service gives is declared.
    assert "timestamp" not in body["example"]
    forms = body["schema"]["properties"]["timestamp"]["anyOf"]
    assert [form["type"] for form in forms] == ["integer", "string", "null"]
    assert (forms[0]["minimum"], forms[0]["maximum"]) == (MIN_TIMESTAMP_MS, MAX_TIMESTAMP_MS - 1)
    assert set(openapi["paths"]["/health"]["get"]["responses"]) == {"200", "503"}
    assert "text/plain" in next(iter(openapi["paths"]["/internal/metrics"]["get"]["responses"]["200"]["content"]))
    assert httpx.get(f"{service.url}/docs").status_code == 200


def test_topic_is_created_from_settings_idempotently(infra: Infra, kafka_admin: Any) -> None:
    name = unique_name("events")
    settings = service_settings(infra, name, kafka_topic_partitions=2)
    try:
        assert ensure_topic(settings, timeout_s=30) is True
        assert ensure_topic(settings, timeout_s=30) is False
        assert len(kafka_admin.list_topics(name, timeout=10).topics[name].partitions) == 2
    finally:
        kafka_admin.delete_topics([name])[name].result(timeout=30)


def test_tail_prints_the_events_as_json_lines(infra: Infra, service: RunningService) -> None:
    sent = [{"event_type": "click", "user_id": f"u-{i}", "event_id": f"tail-{i}"} for i in range(3)]
    assert httpx.post(f"{service.url}/track/batch", json={"events": sent}).status_code == 202
    out = io.StringIO()
    printed = tail(service.settings, out, from_beginning=True, max_messages=3, idle_exit_s=20)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert printed == 3
    assert sorted(line["event_id"] for line in lines) == ["tail-0", "tail-1", "tail-2"]
    assert set(lines[0]) == set(Event.model_fields)


@pytest.mark.parametrize("single", [False, True])
def test_loadgen_through_the_service(infra: Infra, service: RunningService, single: bool) -> None:
    from tools.loadgen import EventGenerator, HttpBatchSender, Traffic, run_load

    generator = EventGenerator(Traffic(seed=3, jitter_ms=2000, late_fraction=0.1))
    sender = HttpBatchSender(service.url, None, single=single, concurrency=2)
    tally = asyncio.run(run_load(generator, sender, rate=0, batch_size=50, count=300, duration_s=None,
                                 concurrency=2))
    assert (tally.sent, tally.accepted, tally.rejected, tally.failed) == (300, 300, 0, 0)
    assert end_offsets(infra.kafka_bootstrap, service.settings.kafka_events_topic) == 300
