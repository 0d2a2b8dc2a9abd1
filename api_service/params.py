"""Query parameters shared by the endpoints, with the checks that turn bad input into a 422."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query
from fastapi.exceptions import RequestValidationError

from contracts.events import EVENT_TYPE_PATTERN

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
Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description="Most windows returned, newest first.", openapi_examples=example(10))
]
Timestamp = Annotated[
    datetime | None,
    Query(
        description="ISO 8601 time, e.g. `2024-06-26T09:00:00Z` (UTC when no offset is given).",
        openapi_examples=example("2024-06-26T09:00:00Z"),
    ),
]


def as_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def query_error(name: str, message: str, value: Any) -> RequestValidationError:
    """A 422 in FastAPI's own shape for a check that spans parameters."""
    return RequestValidationError([{"type": "value_error", "loc": ("query", name), "msg": message, "input": value}])


def live_filter_problem(event_type: str | None, window_size: str | None) -> str | None:
    """WebSocket filters are checked by hand: a bad one closes the socket with a reason naming it."""
    if event_type is not None and not re.fullmatch(EVENT_TYPE_PATTERN, event_type):
        return f"event_type must match {EVENT_TYPE_PATTERN}"
    if window_size is not None and not re.fullmatch(WINDOW_SIZE_PATTERN, window_size):
        return "window_size must look like 30s, 5m or 1h"
    return None
