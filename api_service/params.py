"""Query parameters shared by the endpoints, with the checks that turn bad input into a 422."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query
from fastapi.exceptions import RequestValidationError

from contracts.events import EVENT_TYPE_PATTERN
from contracts.history import datetime_to_ms

WINDOW_SIZE_PATTERN = r"^[1-9][0-9]{0,5}[smh]$"
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


def example(value: object) -> dict[str, Any]:
    """An OpenAPI parameter example, as Swagger UI shows it."""
    return {"example": {"summary": str(value), "value": value}}


EventType = Annotated[
    str,
    Query(
        pattern=EVENT_TYPE_PATTERN,
        description="Event type, a short slug such as `click`. Unknown types give an empty `entries` list.",
        openapi_examples=example("click"),
    ),
]
WindowSize = Annotated[
    str,
    Query(
        pattern=WINDOW_SIZE_PATTERN,
        description="Window length label, e.g. `30s`, `5m`, `1h`.",
        openapi_examples=example("30s"),
    ),
]
DEFAULT_WINDOW_SIZE = "30s"
HistoryWindowSize = Annotated[
    str | None,
    Query(
        pattern=WINDOW_SIZE_PATTERN,
        description="Window length label, e.g. `30s`, `5m`, `1h` (default `30s`). With `resolution=auto`: the "
        "finest resolution wanted (auto picks this tier or a coarser one).",
        openapi_examples=example("30s"),
    ),
]
RESOLUTION_PATTERN = r"^(auto|[1-9][0-9]{0,5}[smh])$"
ResolutionParam = Annotated[
    str | None,
    Query(
        pattern=RESOLUTION_PATTERN,
        description="`auto`: the finest history tier (WINDOW_SPECS, kept for HISTORY_RETENTION) that answers the "
        "whole range in at most `limit` windows (1,000 unless given) and still keeps its start; or a tier's "
        "window size, e.g. `1h`. Adds `resolution` to the answer: the tier used (`window_size`, `slide`), "
        "`points` (its windows in the range; null without start_time) and `whole` (all of them are in the "
        "answer). Without start_time: the finest tier's newest windows. No tier fine enough: the coarsest, "
        "`whole` false.",
        openapi_examples=example("auto"),
    ),
]
BREAKDOWN_PATTERN = r"^[a-z0-9_]{1,64}$"
BreakdownProperty = Annotated[
    str | None,
    Query(
        pattern=BREAKDOWN_PATTERN,
        description="A breakdown property (one of BREAKDOWN_PROPERTIES, e.g. `country`): adds `series`, the same "
        "windows per value of the property (`(none)`: no string value; `(other)`: the values past "
        "BREAKDOWN_MAX_VALUES in a window).",
        openapi_examples=example("country"),
    ),
]
Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description="Most windows returned, newest first.", openapi_examples=example(10))
]
HistoryLimit = Annotated[
    int | None,
    Query(ge=1, le=MAX_LIMIT, description="Most windows returned, newest first (default 100; 1,000 with "
          "`resolution`).", openapi_examples=example(10)),
]
# An ISO 8601 date-time with seconds, optional fraction (to microseconds) and optional offset (UTC when
# absent), years 0001-9999. It admits only real calendar dates (month lengths, leap days), so the schema says
# exactly what is accepted; a number or a bare date is refused.
_YEAR = r"(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
TIME_PATTERN = (
    rf"^(?:{_YEAR}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    rf"|(?:0[13578]|1[02])-31)|{_LEAP_YEAR}-02-29)"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?$"
)


def time_query(description: str, example_value: str) -> Any:
    """An optional ISO 8601 time query parameter, checked against TIME_PATTERN."""
    return Query(pattern=TIME_PATTERN, description=description, openapi_examples=example(example_value))


StartTime = Annotated[str | None, time_query(
    "ISO 8601 date-time, e.g. `2024-06-26T09:00:00Z` (UTC without an offset); inclusive.", "2024-06-26T09:00:00Z")]
EndTime = Annotated[str | None, time_query(
    "ISO 8601 date-time, exclusive: must be later than `start_time`.", "2024-06-26T10:00:00Z")]
# What a datetime (and PostgreSQL through asyncpg) can hold: an offset can push a time just past either end.
EARLIEST_MS = datetime_to_ms(datetime.min.replace(tzinfo=UTC))
LATEST_MS = datetime_to_ms(datetime.max.replace(tzinfo=UTC))


def time_ms(text: str | None, default_ms: int) -> int:
    """A checked time parameter (matching TIME_PATTERN) as epoch ms, UTC when it has no offset."""
    if text is None:
        return default_ms
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return min(max(datetime_to_ms(value), EARLIEST_MS), LATEST_MS)


def query_error(name: str, message: str, value: Any) -> RequestValidationError:
    """A 422 in FastAPI's own shape for a check that spans parameters."""
    return RequestValidationError([{"type": "value_error", "loc": ("query", name), "msg": message, "input": value}])




def live_filter_problem(event_type: str | None, window_size: str | None, breakdown: str | None = None) -> str | None:
    """WebSocket filters are checked by hand: a bad one closes the socket with a reason naming it."""
    if breakdown is not None and not re.fullmatch(BREAKDOWN_PATTERN, breakdown):
        return f"breakdown must match {BREAKDOWN_PATTERN}"
    if event_type is not None and not re.fullmatch(EVENT_TYPE_PATTERN, event_type):
        return f"event_type must match {EVENT_TYPE_PATTERN}"
    if window_size is not None and not re.fullmatch(WINDOW_SIZE_PATTERN, window_size):
        return "window_size must look like 30s, 5m or 1h"
    return None
