"""Turning request bytes into events, or into a 4xx that names the field and the problem.

Pure functions, no I/O: the HTTP layer reads the body (bounded) and hands the bytes here.

Two paths give the same verdicts: `plain_record` recognises the common, plainly valid event in a few
microseconds (orjson-parsed, every field of the expected type and within bounds); anything else goes
through the pydantic model `TrackEvent`, which decides and writes the error message. Likewise bodies
are parsed by orjson and only a body it refuses is parsed again by the standard library to explain
exactly what is wrong. `tests/track_service/test_validation.py` checks that both paths agree.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from contracts.events import (
    EVENT_TYPE_PATTERN,
    MAX_ID_LENGTH,
    MAX_PROPERTIES_BYTES,
    MAX_TIMESTAMP_MS,
    MIN_TIMESTAMP_MS,
    Event,
    EventRecord,
    TrackEvent,
    encode_event,
)

TRACK_FIELDS = ", ".join(TrackEvent.model_fields)


@dataclass
class RequestRejected(Exception):
    """The whole request is refused: HTTP `status`, a metric `reason` and a message for the client."""

    status: int
    reason: str
    detail: str
    errors: list[dict[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        return body


class _NonFiniteNumber(ValueError):
    pass


def _reject_constant(name: str) -> float:
    raise _NonFiniteNumber(name)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # e.g. 1e999 overflows to infinity
        raise _NonFiniteNumber(f"{text[:20]} (out of range)")
    return number


def parse_json_body(raw: bytes, max_depth: int) -> Any:
    """Strict JSON: UTF-8 only, no NaN/Infinity (nor numbers overflowing to infinity), bounded nesting."""
    document = parse_json(raw)
    if type(document) is dict or type(document) is list:
        check_json_tree(document, max_depth)
    return document


def parse_json(raw: bytes) -> Any:
    """`parse_json_body` without the nesting check, for callers that bound the shape themselves.

    orjson refuses NaN, Infinity, numbers beyond a double, invalid UTF-8 and lone surrogates; integers
    beyond 64 bits come back as floats.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        _explain_refusal(raw)
        raise RequestRejected(400, "invalid_json", f"malformed JSON: {error}") from None


def _explain_refusal(raw: bytes) -> None:
    """Raise the precise 400 for a body orjson refused, found with the standard library's parser."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestRejected(
            400, "invalid_utf8", f"body is not valid UTF-8 (bad byte at offset {error.start}): send UTF-8 JSON"
        ) from None
    if not text.strip():
        raise RequestRejected(400, "invalid_json", "body is empty: send a JSON object")
    try:
        json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except _NonFiniteNumber as error:
        raise RequestRejected(
            400, "non_finite_number", f"{error} is not allowed: JSON numbers must be finite"
        ) from None
    except json.JSONDecodeError as error:
        raise RequestRejected(
            400, "invalid_json", f"malformed JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise RequestRejected(400, "too_deep", "JSON nested deeper than the parser allows (~1000 levels)") from None
    except ValueError as error:  # e.g. an integer with more digits than Python converts
        raise RequestRejected(400, "invalid_json", f"malformed JSON: {error}") from None


def check_json_tree(document: Any, max_depth: int) -> None:
    """Reject nesting deeper than `max_depth` (Python's parser alone allows ~1000 levels)."""
    # Only containers are visited; a node's path is rebuilt only for the error message.
    stack: list[tuple[Any, int, _Where]] = [(document, 1, None)]
    while stack:
        node, depth, where = stack.pop()
        if depth > max_depth:
            raise RequestRejected(400, "too_deep", f"{_path(where)}: JSON nested deeper than {max_depth} levels")
        children: Iterable[tuple[Any, Any]] = node.items() if type(node) is dict else enumerate(node)
        for key, value in children:
            if type(value) is dict or type(value) is list:
                stack.append((value, depth + 1, (where, key)))


_Where = tuple[Any, Any] | None


def _path(where: _Where) -> str:
    parts: list[str] = []
    while where is not None:
        where, key = where
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    return "".join(reversed(parts)).lstrip(".") or "body"


def describe_errors(error: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    """Pydantic errors as [{"field": "properties.page", "message": "..."}], readable by a person."""
    described = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"])
        name = f"{prefix}.{location}" if prefix and location else (prefix or location or "body")
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = f"unknown field (allowed: {TRACK_FIELDS})"
        elif item["type"] == "missing":
            message = "required field is missing"
        described.append({"field": name, "message": message})
    return described


def summary(errors: list[dict[str, str]]) -> str:
    return "; ".join(f"{error['field']}: {error['message']}" for error in errors)


_EVENT_TYPE = re.compile(EVENT_TYPE_PATTERN)
_FIELDS = frozenset(TrackEvent.model_fields)
_SCALARS = frozenset({str, int, float, bool, type(None)})
_INT64 = 2**63
_ABSENT = object()
_new_record = tuple.__new__  # EventRecord(...) costs ~0.7 us through NamedTuple's Python __new__
# event_types already matched against the pattern: a set lookup instead of a regex per event.
_known_event_types: set[str] = set()
_MAX_KNOWN_EVENT_TYPES = 10_000


def _plain_event_type(event_type: object) -> bool:
    if type(event_type) is not str:
        return False
    if event_type in _known_event_types:
        return True
    if _EVENT_TYPE.fullmatch(event_type) is None:
        return False
    if len(_known_event_types) < _MAX_KNOWN_EVENT_TYPES:
        _known_event_types.add(event_type)
    return True


def plain_record(item: Any, received_ms: int) -> EventRecord | None:
    """The record of a plainly valid event (flat properties, epoch-ms timestamp), else None.

    None does not mean invalid: `to_record` then asks the pydantic model, which accepts what this
    skips (ISO timestamps, nested properties) and explains what it rejects. This runs for every
    event, hence the plain style.
    """
    if type(item) is not dict:
        return None
    get = item.get
    value = get("value", _ABSENT)
    timestamp = get("timestamp", _ABSENT)
    event_id = get("event_id", _ABSENT)
    properties = get("properties", _ABSENT)
    # With all six fields present there is no unknown one, and when they already have their final
    # types the item itself encodes as the record; otherwise the record is built.
    complete = _ABSENT is not value and _ABSENT is not timestamp and _ABSENT is not event_id \
        and _ABSENT is not properties and len(item) == len(_FIELDS)
    if not complete:
        if not _FIELDS.issuperset(item):
            return None
        value, timestamp, event_id, properties = (
            0.0 if value is _ABSENT else value, None if timestamp is _ABSENT else timestamp,
            None if event_id is _ABSENT else event_id, None if properties is _ABSENT else properties,
        )
    if not _plain_event_type(get("event_type")):
        return None
    event_type: str = item["event_type"]
    user_id = get("user_id")
    if type(user_id) is not str or not 0 < len(user_id) <= MAX_ID_LENGTH:
        return None
    if type(value) is float:
        if not math.isfinite(value):
            return None
    elif type(value) is int and -_INT64 <= value < _INT64:
        value = float(value)
        complete = False
    else:
        return None
    if timestamp is None:
        timestamp = received_ms
        complete = False
    elif type(timestamp) is not int or not MIN_TIMESTAMP_MS <= timestamp < MAX_TIMESTAMP_MS:
        return None
    if event_id is None:
        event_id = uuid.uuid4().hex
        complete = False
    elif type(event_id) is not str or not 0 < len(event_id) <= MAX_ID_LENGTH:
        return None
    if properties is None:
        properties = {}
        complete = False
    elif type(properties) is dict:
        for nested in properties.values():  # a loop, not all(...): cheaper per event
            if type(nested) not in _SCALARS:
                return None
    else:
        return None
    if complete:
        encoded = orjson.dumps(item)
    else:
        encoded = encode_event(event_id, event_type, user_id, value, timestamp, properties)
    # The properties are part of the encoded event, so a short event has small enough properties.
    if len(encoded) > MAX_PROPERTIES_BYTES and len(orjson.dumps(properties)) > MAX_PROPERTIES_BYTES:
        return None
    record: EventRecord = _new_record(EventRecord, (event_id, user_id, encoded))
    return record


def read_batch(
    raw: bytes, max_events: int, max_depth: int, received_ms: int
) -> tuple[list[Any], list[EventRecord | None]]:
    """The items of a /track/batch body and, per item, its record when plainly valid (else None).

    When every item is plainly valid the body is at most four levels deep (object, events, event,
    properties), so the generic nesting check is only needed, and run, otherwise.
    """
    document = parse_json(raw)
    events = document.get("events") if type(document) is dict and len(document) == 1 else None
    records: list[EventRecord | None] | None = None
    if type(events) is list and 0 < len(events) <= max_events:
        records = [plain_record(item, received_ms) for item in events]
        if None not in records:
            return events, records
    if type(document) is dict or type(document) is list:
        check_json_tree(document, max_depth)
    events = batch_items(document, max_events)
    return events, records or [None] * len(events)


def to_record(item: Any, received_ms: int, prefix: str = "") -> EventRecord:
    """The record to produce for one client event, or RequestRejected naming the field."""
    return plain_record(item, received_ms) or to_event(item, received_ms, prefix).to_record()


def to_event(item: Any, received_ms: int, prefix: str = "") -> Event:
    """Validate one client event (strict types: "3" is not a number) and resolve it to the wire record."""
    try:
        return TrackEvent.model_validate(item, strict=True).resolve(received_ms)
    except ValidationError as error:
        errors = describe_errors(error, prefix)
        raise RequestRejected(422, "invalid_event", summary(errors), errors) from None


def batch_items(document: Any, max_events: int) -> list[Any]:
    """The `events` list of a batch body."""
    if not isinstance(document, Mapping):
        raise RequestRejected(422, "invalid_batch", 'body must be an object like {"events": [...]}')
    unknown = set(document) - {"events"}
    if unknown:
        raise RequestRejected(422, "invalid_batch", f"{sorted(unknown)[0]}: unknown field (allowed: events)")
    events = document.get("events")
    if not isinstance(events, list):
        raise RequestRejected(422, "invalid_batch", "events: required, must be an array of events")
    if not events:
        raise RequestRejected(422, "invalid_batch", "events: must hold at least one event")
    if len(events) > max_events:
        raise RequestRejected(
            413, "batch_too_large", f"events: {len(events)} events, at most {max_events} per batch: split it"
        )
    return events
