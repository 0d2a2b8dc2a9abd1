"""Window results: the Redis sorted-set member, the pub/sub / WebSocket message and API entries.

One `WindowMetrics` is the aggregate of one (event_type, window_size, window_start) window.
Its JSON encoding is canonical (fixed key order, no spaces) so that the same window written
twice yields the same Redis member, which the sync worker relies on to delete exactly what it read.

The seed's seven fields come first, in the seed's order; later additions follow and are left out of the
encoding while unset (a window written before they existed reads back the same):
- `p50`, `p95`, `p99`: percentiles of `value` in the window, from a KLL sketch in the job
  (flink_service/functions, ValuePercentiles.java): exact up to 200 events in a window, beyond that a value
  whose rank is within +-1.33% of the asked rank (99% confidence).
- `breakdown`, `breakdown_value`: set on the windows of one value of a breakdown property (e.g. `country`,
  `DE`): the events of that type whose `properties` hold that value. `(none)` collects events without a
  string value, `(other)` the values past BREAKDOWN_MAX_VALUES in the window.

A `total_value` that is not a finite number (impossible for events within `contracts.events.MAX_ABS_VALUE`,
but a window written by an older job or another writer may carry one) is held as NaN/inf and written out as
JSON `null` everywhere: Redis members, pub/sub and WebSocket messages, API entries. JSON has no NaN.
"""

from __future__ import annotations

import json
import math
from typing import Any, NotRequired, TypedDict

from pydantic import BaseModel, ConfigDict, field_validator


class MetricsEntry(TypedDict):
    """One window in an API response (seed phases 3-4)."""

    window_start: int
    count: int
    total_value: float | None  # None: the stored sum is not a finite number
    unique_users: int
    p50: NotRequired[float]
    p95: NotRequired[float]
    p99: NotRequired[float]


# The percentiles of value each window carries, as (field, quantile).
PERCENTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))
# Past 200 events in a window, a percentile is a value whose rank is within this of the asked quantile
# (KLL sketch with k = 200, 99% confidence; ValuePercentiles.RANK_ERROR in flink_service/functions).
PERCENTILE_RANK_ERROR = 0.0133


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
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    breakdown: str | None = None
    breakdown_value: str | None = None

    @field_validator("total_value", mode="before")
    @classmethod
    def _null_is_not_a_number(cls, value: Any) -> Any:
        return math.nan if value is None else value

    def to_json(self) -> str:
        """Canonical encoding: the Redis member and the pub/sub payload (strict JSON: a non-finite sum is null)."""
        return json.dumps(self.to_message(), separators=(",", ":"), allow_nan=False)

    def to_message(self) -> dict[str, Any]:
        """The fields as JSON carries them: unset later additions left out, a non-finite sum as None."""
        fields = self.model_dump(exclude_none=True)
        if not math.isfinite(self.total_value):
            fields["total_value"] = None
        return fields

    @classmethod
    def from_json(cls, raw: str | bytes) -> WindowMetrics:
        return cls.model_validate(json.loads(raw))

    def to_entry(self) -> MetricsEntry:
        entry = MetricsEntry(
            window_start=self.window_start,
            count=self.count,
            total_value=self.total_value if math.isfinite(self.total_value) else None,
            unique_users=self.unique_users,
        )
        for name, _ in PERCENTILES:
            if (value := getattr(self, name)) is not None:
                entry[name] = value  # type: ignore[literal-required]
        return entry

    @property
    def key(self) -> tuple[str, str, int]:
        """The window of an event type (breakdown windows share it with their type's: see `identity`)."""
        return (self.event_type, self.window_size, self.window_start)

    @property
    def identity(self) -> tuple[str, str, int, str, str]:
        """What tells any two windows apart, breakdown windows included (the `metrics` primary key)."""
        return (self.event_type, self.window_size, self.window_start, self.breakdown or "", self.breakdown_value or "")


def metrics_response(event_type: str, window_size: str, windows: list[WindowMetrics]) -> dict[str, Any]:
    """The seed's response body for /metrics, /metrics/realtime and /metrics/history."""
    return {
        "event_type": event_type,
        "window_size": window_size,
        "entries": [window.to_entry() for window in windows],
    }
