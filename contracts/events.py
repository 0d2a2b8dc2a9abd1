"""The event every service agrees on: what clients send to /track and what travels in Kafka.

`TrackEvent` is what a client may send (timestamp and event_id optional); `Event` is the
resolved record written to Kafka as one JSON object per message, keyed by `user_id`.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

EVENT_TYPE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
MAX_ID_LENGTH = 128  # user_id and event_id, in characters
MAX_PROPERTIES_BYTES = 4096  # of properties encoded as compact UTF-8 JSON, as they travel in Kafka
# Timestamps outside these bounds (2000-01-01 .. 2100-01-01 UTC) are treated as absurd.
MIN_TIMESTAMP_MS = 946_684_800_000
MAX_TIMESTAMP_MS = 4_102_444_800_000
# |value| <= MAX_ABS_VALUE, checked at ingestion (the models here, track_service's msgspec fast path) and by
# the Flink job (records beyond it are skipped as `bad_value`). A window's sum then stays finite:
# |total_value| <= count * 1e15, and a double overflows only past ~1.8e308, i.e. after more than 1e293 events.
MAX_ABS_VALUE = 1e15
# A timestamp string: an ISO 8601 / RFC 3339 date-time in 2000..2099 with seconds, optional fraction (up to
# microseconds) and optional offset (UTC when absent), e.g. 2024-06-26T09:00:00Z. The pattern admits only
# real calendar dates (month lengths, leap days), so the OpenAPI schema that carries it says exactly what
# is accepted. (At the two edges an offset can move the instant out of 2000..2099 UTC: that is refused.)
TIMESTAMP_TEXT_PATTERN = (
    r"^(?:20[0-9]{2}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)|20(?:[02468][048]|[13579][26])-02-29)"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?$"
)
_TIMESTAMP_TEXT = re.compile(TIMESTAMP_TEXT_PATTERN)
TIMESTAMP_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": MIN_TIMESTAMP_MS, "maximum": MAX_TIMESTAMP_MS - 1,
         "description": "Epoch milliseconds, 2000-01-01 to 2099-12-31 (UTC)."},
        {"type": "string", "pattern": TIMESTAMP_TEXT_PATTERN,
         "description": "ISO 8601 date-time in 2000..2099, e.g. 2024-06-26T09:00:00Z (UTC without an offset)."},
        {"type": "null"},
    ],
    "description": "Event time: epoch milliseconds or an ISO 8601 date-time; the time of receipt when absent.",
}


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def parse_timestamp_ms(value: Any) -> int:
    """Epoch milliseconds (int, or a whole float) or an ISO 8601 string -> epoch ms."""
    if isinstance(value, bool):
        raise ValueError("timestamp must be epoch milliseconds or an ISO 8601 string")
    if isinstance(value, int):
        millis = value
    elif isinstance(value, float):
        if not value.is_integer():  # also NaN and infinities
            raise ValueError("timestamp must be whole epoch milliseconds")
        millis = int(value)
    elif isinstance(value, str):
        if _TIMESTAMP_TEXT.fullmatch(value) is None:
            raise ValueError("timestamp string must be an ISO 8601 date-time in 2000..2099, e.g. 2024-06-26T09:00:00Z")
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        millis = int(parsed.timestamp() * 1000)
    else:
        raise ValueError("timestamp must be epoch milliseconds or an ISO 8601 string")
    if not MIN_TIMESTAMP_MS <= millis < MAX_TIMESTAMP_MS:
        raise ValueError("timestamp must be between 2000-01-01 and 2100-01-01 (epoch milliseconds)")
    return millis


def encode_event(
    event_id: str, event_type: str, user_id: str, value: float, timestamp: int, properties: dict[str, Any]
) -> bytes:
    """The Kafka value of an event: compact UTF-8 JSON, fields in this order. One encoder for every writer.

    track_service's fast path encodes its msgspec struct with the same field order and encoder.
    """
    return _encode_json({"event_id": event_id, "event_type": event_type, "user_id": user_id, "value": value,
                         "timestamp": timestamp, "properties": properties})


def properties_size(properties: dict[str, Any]) -> int:
    """Bytes `properties` take in the Kafka value (compact UTF-8 JSON); ValueError if not JSON-encodable."""
    try:
        return len(_encode_json(properties))
    except (TypeError, msgspec.EncodeError) as error:
        raise ValueError(f"properties must be plain JSON: {error}") from None


_encode_json = msgspec.json.Encoder().encode


class TrackEvent(BaseModel):
    """One event as a client sends it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                # No timestamp: the time of receipt. A fixed one would soon be behind the watermark: the
                # event would be accepted, then skipped as late.
                {"event_type": "click", "user_id": "user-42", "value": 1.5, "properties": {"page": "/home"}}
            ]
        },
    )

    event_type: str = Field(pattern=EVENT_TYPE_PATTERN, description="Short slug, e.g. 'click'.")
    user_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    value: float = Field(
        default=0.0, allow_inf_nan=False, ge=-MAX_ABS_VALUE, le=MAX_ABS_VALUE,
        description="A number, at most 1e15 in absolute value (so that window sums stay finite).",
    )
    timestamp: Annotated[int | None, WithJsonSchema(TIMESTAMP_SCHEMA)] = None
    event_id: str | None = Field(default=None, min_length=1, max_length=MAX_ID_LENGTH)
    properties: dict[str, Any] | None = None

    @field_validator("timestamp", mode="before")
    @classmethod
    def _timestamp(cls, value: Any) -> int | None:
        return None if value is None else parse_timestamp_ms(value)

    @field_validator("properties")
    @classmethod
    def _small_properties(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and properties_size(value) > MAX_PROPERTIES_BYTES:
            raise ValueError(f"properties must encode to at most {MAX_PROPERTIES_BYTES} bytes of compact JSON")
        return value

    def resolve(self, received_ms: int | None = None) -> Event:
        # Validating again is cheaper than pydantic's model_construct (7 vs 13 us, measured).
        return Event(
            event_id=self.event_id or uuid.uuid4().hex,
            event_type=self.event_type,
            user_id=self.user_id,
            value=self.value,
            timestamp=self.timestamp if self.timestamp is not None else (received_ms or now_ms()),
            properties=self.properties or {},
        )


class Event(BaseModel):
    """The record in the events topic (JSON), every field present."""

    model_config = ConfigDict(extra="forbid")

    event_id: str
    event_type: str = Field(pattern=EVENT_TYPE_PATTERN)
    user_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    value: float = Field(allow_inf_nan=False, ge=-MAX_ABS_VALUE, le=MAX_ABS_VALUE)
    timestamp: int = Field(description="Event time, epoch milliseconds.")
    properties: dict[str, Any] = Field(default_factory=dict)

    def to_kafka_value(self) -> bytes:
        return encode_event(self.event_id, self.event_type, self.user_id, self.value, self.timestamp, self.properties)

    @classmethod
    def from_kafka_value(cls, raw: bytes) -> Event:
        return cls.model_validate_json(raw)


# A watermark heartbeat: a record in the events topic with a timestamp and no event_type.
# The Flink job lets it advance event time (so windows close when traffic stops) and
# never counts it as an event. See flink_service/heartbeat.py.
HEARTBEAT_FIELD = "heartbeat"


def heartbeat_value(timestamp_ms: int) -> bytes:
    return json.dumps({HEARTBEAT_FIELD: True, "timestamp": timestamp_ms}, separators=(",", ":")).encode()
