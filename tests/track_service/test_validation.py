"""Pure request validation and the event_id memory: no I/O, fast."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest

from contracts.events import MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS
from tools.loadgen import EventGenerator, Traffic
from track_service.dedup import RecentEventIds
from track_service.records import check_item, plain_batch, plain_record, read_event
from track_service.validation import RequestRejected, batch_items, parse_json_body, to_event


def rejected(raw: bytes, max_depth: int = 8) -> RequestRejected:
    with pytest.raises(RequestRejected) as caught:
        parse_json_body(raw, max_depth)
    return caught.value


@pytest.mark.parametrize(
    ("raw", "reason", "mentions"),
    [
        (b'{"value": NaN}', "non_finite_number", "NaN"),
        (b'{"value": -Infinity}', "non_finite_number", "-Infinity"),
        (b'{"properties": {"x": 1e999}}', "non_finite_number", "1e999 (out of range)"),
        (b'{"a": [' + b"[" * 20 + b"]" * 20 + b"]}", "too_deep", "a[0]"),
        (b"[" * 100_000 + b"]" * 100_000, "too_deep", "nested deeper"),
        (b'{"user_id": "\xff\xfe"}', "invalid_utf8", "offset 13"),
        (b'{"user_id": ', "invalid_json", "line 1 column 13"),
        (b"", "invalid_json", "empty"),
        (b'{"value": ' + b"9" * 5000 + b"}", "invalid_json", "malformed"),
    ],
)
def test_bad_json_is_a_400_naming_the_problem(raw: bytes, reason: str, mentions: str) -> None:
    error = rejected(raw)
    assert (error.status, error.reason) == (400, reason)
    assert mentions in error.detail


def test_nesting_up_to_the_limit_is_accepted() -> None:
    assert parse_json_body(b'{"a": {"b": {"c": [1.5]}}}', max_depth=4) == {"a": {"b": {"c": [1.5]}}}
    assert rejected(b'{"a": {"b": {"c": [[1]]}}}', max_depth=4).reason == "too_deep"


@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        ({"user_id": "u"}, "event_type", "missing"),
        ({"event_type": "click"}, "user_id", "missing"),
        ({"event_type": "Click!", "user_id": "u"}, "event_type", "pattern"),
        ({"event_type": "click", "user_id": 7}, "user_id", "string"),
        ({"event_type": "click", "user_id": "u", "value": "3"}, "value", "number"),
        ({"event_type": "click", "user_id": "u", "value": True}, "value", "number"),
        ({"event_type": "click", "user_id": "u", "value": 1.000001e15}, "value",
         "less than or equal to 1000000000000000"),
        ({"event_type": "click", "user_id": "u", "value": -2**63}, "value",
         "greater than or equal to -1000000000000000"),
        ({"event_type": "click", "user_id": "u", "timestamp": "yesterday"}, "timestamp", "ISO 8601"),
        ({"event_type": "click", "user_id": "u", "timestamp": 5}, "timestamp", "between"),
        ({"event_type": "click", "user_id": "u", "properties": {"x": "y" * 5000}}, "properties", "4096"),
        ({"event_type": "click", "user_id": "u", "colour": "red"}, "colour", "unknown field"),
        ([1, 2], "body", "dictionary"),
    ],
)
def test_invalid_event_names_the_field(item: Any, field: str, message: str) -> None:
    with pytest.raises(RequestRejected) as caught:
        to_event(item, received_ms=1_719_392_400_000)
    assert caught.value.status == 422
    assert caught.value.errors[0]["field"] == field
    assert message in caught.value.errors[0]["message"]


def test_event_defaults_resolve_to_a_complete_record() -> None:
    event = to_event({"event_type": "click", "user_id": "u"}, received_ms=1_719_392_400_000)
    assert (event.value, event.timestamp, event.properties) == (0.0, 1_719_392_400_000, {})
    assert len(event.event_id) == 32
    iso = to_event({"event_type": "click", "user_id": "u", "timestamp": "2024-06-26T09:00:00Z"}, 0)
    assert iso.timestamp == 1_719_392_400_000


@pytest.mark.parametrize(
    ("document", "status", "mentions"),
    [
        ([], 422, "object"),
        ({"events": "x"}, 422, "array"),
        ({"events": []}, 422, "at least one"),
        ({"events": [{}], "extra": 1}, 422, "extra"),
        ({"events": [{}] * 11}, 413, "at most 10"),
    ],
)
def test_batch_envelope(document: Any, status: int, mentions: str) -> None:
    with pytest.raises(RequestRejected) as caught:
        batch_items(document, max_events=10)
    assert caught.value.status == status
    assert mentions in caught.value.detail


async def test_event_id_memory_expires_and_forgets_failures() -> None:
    now = [0.0]
    recent = RecentEventIds(horizon_s=10, max_entries=2, clock=lambda: now[0])
    first = recent.attempt()
    assert recent.claim("a", first) is None and recent.claim("b", first) is None
    retry = recent.attempt()
    earlier = recent.claim("a", retry)
    assert earlier is first and not first.outcome.done()
    waiting = asyncio.ensure_future(earlier.published("a"))
    recent.settle(first, failed=["b"])
    assert await asyncio.wait_for(waiting, 1) is True
    assert recent.claim("b", recent.attempt()) is None, "a failed attempt must let the retry publish"
    assert recent.claim("b", recent.attempt()) is not None
    now[0] = 11
    assert recent.claim("a", recent.attempt()) is None, "past the horizon the id is forgotten"
    late = recent.attempt()
    assert recent.claim("c", late) is None and recent.claim("d", late) is None
    assert len(recent) == 2, "bounded: the oldest entries are dropped"


async def test_claiming_a_request_s_ids_at_once_finds_earlier_and_repeated_ones() -> None:
    recent = RecentEventIds(horizon_s=10, max_entries=100)
    first = recent.attempt()
    assert recent.claim_all(["a", None, "b"], first) == {}
    second = recent.attempt()
    assert recent.claim_all(["c", "a", None, "c"], second) == {1: first, 3: second}
    assert recent.claim_all([None, None], recent.attempt()) == {}
    assert len(recent) == 3

MISSING = object()
FIELD_CHOICES: dict[str, list[Any]] = {
    "event_type": ["click", "a.b-c_d9", "x" * 64, "x" * 65, "Click", "click\n", "", "é", 5, None, True, MISSING],
    "user_id": ["u", "x" * 128, "x" * 129, "ü" * 128, "", 7, None, MISSING],
    "value": [0, -3, 10**15, -(10**15), 10**15 + 1, 1e15, -1e15, 1.0000000000000002e15, 2**63, 1.5, -0.0, 1e308,
              True, "3", None, [1], MISSING],
    "timestamp": [1_719_392_400_000, MIN_TIMESTAMP_MS, MIN_TIMESTAMP_MS - 1, MAX_TIMESTAMP_MS - 1, MAX_TIMESTAMP_MS,
                  1_719_392_400_000.0, 1_719_392_400_000.5, "2024-06-26T09:00:00Z", "soon", True, None, MISSING],
    "event_id": ["e-1", "x" * 128, "x" * 129, "", 5, None, MISSING],
    "properties": [{}, {"page": "/", "n": 1, "ok": True, "none": None, "f": 2.5}, {"a": "y" * 4088},
                   {"a": "y" * 4089}, {"a": "é" * 2044}, {"a": "é" * 2045}, {"a": {"b": 1}}, {"a": [1]},
                   [], "x", None, MISSING],
}


def random_items(count: int) -> list[Any]:
    rng = random.Random(7)
    items: list[Any] = []
    for _ in range(count):
        item = {name: choices[0] for name, choices in FIELD_CHOICES.items()}  # a valid event, then 0-3 changes
        for name in rng.sample(sorted(FIELD_CHOICES), rng.randint(0, 3)):
            item[name] = rng.choice(FIELD_CHOICES[name])
        item = {name: value for name, value in item.items() if value is not MISSING}
        if rng.random() < 0.05:
            item["colour"] = "red"
        items.append(item)
    return [*items, [1, 2], "click", None]


def test_the_fast_paths_agree_with_the_pydantic_model() -> None:
    """The fast paths (a batch's, POST /track's straight from the body's bytes) may pass an item to the model,
    but what they accept the model accepts identically, and what it rejects /track rejects with its message."""
    received_ms = 1_719_392_400_000
    fast = 0
    for item in random_items(5000):
        record = plain_record(item, received_ms)
        in_a_batch = plain_batch(json.dumps({"events": [item]}).encode(), 10, received_ms)
        assert (record is None) == (in_a_batch is None), item
        single = read_event(json.dumps(item).encode(), 8, received_ms)  # POST /track's path
        verdict = check_item(item, received_ms)
        assert type(single) is type(verdict), item  # a record (tuple) or the model's RequestRejected
        if isinstance(verdict, RequestRejected):
            assert single == verdict, item  # the same 422 and message
        if record is None or in_a_batch is None:
            continue
        fast += 1
        event = to_event(item, received_ms)  # raises if the model disagrees
        expected = json.loads(event.to_kafka_value())
        client_event_id = item.get("event_id") is not None
        assert isinstance(single, tuple)
        for event_id, user_id, value, chosen, event_type in (record, in_a_batch[0], single):
            if not client_event_id:
                expected["event_id"] = event_id
            assert json.loads(value) == expected, item
            if client_event_id:  # the same bytes as contracts.events.encode_event writes
                assert value == event.to_kafka_value()
            assert (event_id, user_id, chosen, event_type) == (expected["event_id"], event.user_id, client_event_id,
                                                               event.event_type)
    assert 1000 < fast < 4000, "the random items must exercise both paths"


def test_generated_traffic_takes_the_fast_path() -> None:
    generator = EventGenerator(Traffic(seed=1, start_ms=1_719_392_400_000, rate=1000))
    assert all(plain_record(generator.next_event(), 0) is not None for _ in range(1000))


def test_properties_are_limited_on_their_encoded_size() -> None:
    fits, too_big = {"a": "é" * 2044}, {"a": "é" * 2045}  # 2 bytes per character in UTF-8
    assert type(check_item({"event_type": "c", "user_id": "u", "properties": fits}, 0)) is tuple
    rejected = check_item({"event_type": "c", "user_id": "u", "properties": too_big}, 0)
    assert type(rejected) is RequestRejected and rejected.errors[0]["field"] == "properties"


def test_a_body_msgspec_refuses_is_still_a_400() -> None:
    error = rejected(b'{"user_id": "\\ud800"}')  # a lone surrogate cannot be encoded as UTF-8
    assert (error.status, error.reason) == (400, "invalid_json")
