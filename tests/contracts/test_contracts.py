"""The shared contracts: window maths, window specs, the event schema and the canonical encoding."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from contracts.events import Event, TrackEvent, heartbeat_value, parse_timestamp_ms
from contracts.history import WINDOW_COLUMNS, datetime_to_ms, ms_to_datetime, row_to_window, window_row
from contracts.redis_keys import RedisKeys, WindowKey, parse_window_key
from contracts.window_results import WindowMetrics, metrics_response
from contracts.windows import (
    WindowSpec,
    format_duration,
    is_closed,
    last_closed_start_ms,
    parse_duration_s,
    parse_window_specs,
)

WINDOW = WindowMetrics(window_start=1_719_392_400_000, window_end=1_719_392_430_000, count=142,
                       total_value=8563.21, unique_users=23, event_type="click", window_size="30s")


@pytest.mark.parametrize(
    ("timestamp_ms", "starts"),
    [
        (1_719_392_400_000, [1_719_392_380_000, 1_719_392_390_000, 1_719_392_400_000]),
        (1_719_392_409_999, [1_719_392_380_000, 1_719_392_390_000, 1_719_392_400_000]),
        (1_719_392_410_000, [1_719_392_390_000, 1_719_392_400_000, 1_719_392_410_000]),
    ],
)
def test_every_window_containing_a_timestamp(timestamp_ms: int, starts: list[int]) -> None:
    spec = WindowSpec(30, 10)
    assert spec.window_starts(timestamp_ms) == starts
    assert all(start <= timestamp_ms < start + spec.size_ms for start in starts)


def test_window_specs_parse_with_labels() -> None:
    specs = parse_window_specs("30s/10s, 5m/1m,1h/15m")
    assert [spec.label for spec in specs] == ["30s", "5m", "1h"]
    assert [str(spec) for spec in specs] == ["30s/10s", "5m/1m", "1h/15m"]
    assert (parse_duration_s("90s"), format_duration(90), format_duration(120)) == (90, "90s", "2m")


@pytest.mark.parametrize(
    ("text", "problem"),
    [("30s", "SIZE/SLIDE"), ("30s/7s", "whole multiple"), ("30x/10s", "bad duration"), ("", "no window spec"),
     ("30s/10s,30s/5s", "unique"), ("0s/0s", "greater than zero")],
)
def test_bad_window_specs_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_window_specs(text)


def test_timestamps_in_ms_or_iso_8601() -> None:
    assert parse_timestamp_ms("2024-06-26T09:00:00Z") == 1_719_392_400_000
    assert parse_timestamp_ms("2024-06-26T11:00:00+02:00") == 1_719_392_400_000
    assert parse_timestamp_ms(1_719_392_400_000) == 1_719_392_400_000
    for absurd in (12, 5_000_000_000_000, "yesterday", True, float("nan")):
        with pytest.raises(ValueError):
            parse_timestamp_ms(absurd)


def test_a_client_event_resolves_to_the_wire_record() -> None:
    event = TrackEvent(event_type="click", user_id="u-1").resolve(received_ms=1_719_392_400_000)
    assert (event.timestamp, event.value, event.properties) == (1_719_392_400_000, 0.0, {})
    assert len(event.event_id) == 32
    assert Event.from_kafka_value(event.to_kafka_value()) == event


@pytest.mark.parametrize(
    "fields",
    [{"event_type": "Bad Type", "user_id": "u"}, {"event_type": "click", "user_id": ""},
     {"event_type": "click", "user_id": "u", "value": float("inf")},
     {"event_type": "click", "user_id": "u", "properties": {"x": "y" * 5000}},
     {"event_type": "click", "user_id": "u", "surprise": 1}],
)
def test_client_events_that_do_not_fit_are_rejected(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        TrackEvent.model_validate(fields)


def test_heartbeats_carry_only_a_timestamp() -> None:
    assert json.loads(heartbeat_value(1_719_392_400_000)) == {"heartbeat": True, "timestamp": 1_719_392_400_000}


def test_window_encoding_is_canonical_and_in_the_seed_order() -> None:
    encoded = WINDOW.to_json()
    assert list(json.loads(encoded)) == ["window_start", "window_end", "count", "total_value", "unique_users",
                                         "event_type", "window_size"]
    assert " " not in encoded
    assert WindowMetrics.from_json(encoded).to_json() == encoded
    assert metrics_response("click", "30s", [WINDOW]) == {
        "event_type": "click", "window_size": "30s",
        "entries": [{"window_start": 1_719_392_400_000, "count": 142, "total_value": 8563.21, "unique_users": 23}],
    }


def test_history_rows_round_trip() -> None:
    assert datetime_to_ms(ms_to_datetime(1_719_392_400_123)) == 1_719_392_400_123
    row = dict(zip(WINDOW_COLUMNS, window_row(WINDOW), strict=True))
    assert row_to_window(row) == WINDOW
    with_percentiles = WINDOW.model_copy(update={"p50": 1.0, "p95": 2.5, "p99": 3.0})
    assert row_to_window(dict(zip(WINDOW_COLUMNS, window_row(with_percentiles), strict=True))) == with_percentiles


def test_percentiles_are_additions_to_the_seed_message() -> None:
    """A window without percentiles encodes exactly as the seed's message; with them, they follow it."""
    assert list(json.loads(WINDOW.to_json())) == [
        "window_start", "window_end", "count", "total_value", "unique_users", "event_type", "window_size"]
    with_percentiles = WINDOW.model_copy(update={"p50": 1.0, "p95": 2.5, "p99": 3.0})
    assert with_percentiles.to_json().startswith(WINDOW.to_json()[:-1] + ',"p50":1.0,"p95":2.5,"p99":3.0}')
    assert with_percentiles.to_entry() == {**WINDOW.to_entry(), "p50": 1.0, "p95": 2.5, "p99": 3.0}


def test_redis_key_layout() -> None:
    keys = RedisKeys("metrics")
    assert keys.windows("click", "30s") == "metrics:windows:click:30s"
    assert (keys.event_types, keys.window_sizes, keys.updates_channel) == (
        "metrics:registry:event_types:last_end", "metrics:registry:window_sizes:last_end", "metrics:updates")
    assert (keys.writer_status, keys.admitted_event_types) == ("metrics:writer", "metrics:admission:event_types")


def test_a_window_is_closed_once_its_end_plus_the_grace_has_passed() -> None:
    assert not is_closed(30_000, now_ms=29_999) and is_closed(30_000, now_ms=30_000)
    assert not is_closed(30_000, now_ms=34_999, grace_ms=5_000) and is_closed(30_000, now_ms=35_000, grace_ms=5_000)
    start = last_closed_start_ms(30_000, now_ms=100_000, grace_ms=5_000)
    assert is_closed(start + 30_000, 100_000, 5_000) and not is_closed(start + 1 + 30_000, 100_000, 5_000)


def test_redis_window_keys_are_read_back_as_they_are_built() -> None:
    keys = RedisKeys("metrics")
    name = keys.windows("page.view", "5m")
    assert parse_window_key(name, keys) == WindowKey(name, "page.view", "5m", 300_000)
    assert parse_window_key(keys.event_types, keys) is None
