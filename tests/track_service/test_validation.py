"""Pure request validation and the event_id memory: no I/O, fast."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from track_service.dedup import RecentEventIds
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
    assert recent.claim("a") is None
    pending = recent.claim("a")
    assert pending is not None and not pending.done()
    recent.settle("a", published=True)
    assert await asyncio.wait_for(pending, 1) is True
    assert recent.claim("b") is None
    recent.settle("b", published=False)
    assert recent.claim("b") is None, "a failed attempt must let the retry publish"
    now[0] = 11
    assert recent.claim("a") is None, "past the horizon the id is forgotten"
    assert recent.claim("c") is None and recent.claim("d") is None
    assert len(recent) == 2, "bounded: the oldest entries are dropped"
