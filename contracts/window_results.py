"""Window results: the Redis sorted-set member, the pub/sub / WebSocket message and API entries.

One `WindowMetrics` is the aggregate of one (event_type, window_size, window_start) window.
Its JSON encoding is canonical (fixed key order, no spaces) so that the same window written
twice yields the same Redis member, which the sync worker relies on to delete exactly what it read.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

from pydantic import BaseModel, ConfigDict


class MetricsEntry(TypedDict):
    """One window in an API response (seed phases 3-4)."""

    window_start: int
    count: int
    total_value: float
    unique_users: int


class WindowMetrics(BaseModel):
    """The seed's WebSocket message format, field for field and in this order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_start: int
    window_end: int
    count: int
    total_value: float
    unique_users: int
    event_type: str
    window_size: str

    def to_json(self) -> str:
        """Canonical encoding: the Redis member and the pub/sub payload."""
        return json.dumps(self.model_dump(), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> WindowMetrics:
        return cls.model_validate(json.loads(raw))

    def to_entry(self) -> MetricsEntry:
        return MetricsEntry(
            window_start=self.window_start,
            count=self.count,
            total_value=self.total_value,
            unique_users=self.unique_users,
        )

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.event_type, self.window_size, self.window_start)


def metrics_response(event_type: str, window_size: str, windows: list[WindowMetrics]) -> dict[str, Any]:
    """The seed's response body for /metrics, /metrics/realtime and /metrics/history."""
    return {
        "event_type": event_type,
        "window_size": window_size,
        "entries": [window.to_entry() for window in windows],
    }
