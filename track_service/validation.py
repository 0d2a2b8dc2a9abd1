"""Turning request bytes into JSON documents and events, or into a 4xx naming the field and the problem.

Pure functions, no I/O: the HTTP layer reads the body (bounded) and hands the bytes here. Bodies are
parsed by msgspec; only a body it refuses is parsed again by the standard library, to explain exactly
what is wrong. Events are judged by the pydantic model here; `records.py` holds the fast path.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from pydantic import ValidationError

from contracts.events import Event, TrackEvent

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


# What msgspec raises for bytes it will not decode (RecursionError: nesting beyond its own limit).
DECODE_ERRORS = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def parse_json_body(raw: bytes, max_depth: int) -> Any:
    """Strict JSON: UTF-8 only, no NaN/Infinity (nor numbers overflowing to infinity), bounded nesting.

    msgspec refuses NaN, Infinity, numbers beyond a double, invalid UTF-8 and lone surrogates.
    """
    try:
        document = _decode_json(raw)
    except DECODE_ERRORS as error:
        _explain_refusal(raw)
        raise RequestRejected(400, "invalid_json", f"malformed JSON: {error}") from None
    if type(document) is dict or type(document) is list:
        check_json_tree(document, max_depth)
    return document


_decode_json = msgspec.json.Decoder().decode


def _explain_refusal(raw: bytes) -> None:
    """Raise the precise 400 for a body msgspec refused, found with the standard library's parser."""
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
