"""Sliding-window specs and the window maths every component (and the test oracle) shares.

Windows are aligned to the epoch like Flink's HOP windows with no offset: a window of
`size_ms` starting at a multiple of `slide_ms` covers [window_start, window_start + size_ms).
When a window counts as closed is decided here too (`is_closed`, `last_closed_start_ms`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_UNITS_S = {"s": 1, "m": 60, "h": 3600}
_DURATION = re.compile(r"^\s*(\d+)\s*([smh])\s*$")


def parse_duration_s(text: str) -> int:
    """'30s' -> 30, '5m' -> 300, '1h' -> 3600."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"bad duration {text!r}: use a whole number with s, m or h, e.g. '30s'")
    seconds = int(match.group(1)) * _UNITS_S[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"bad duration {text!r}: must be greater than zero")
    return seconds


def format_duration(seconds: int) -> str:
    """The label used as `window_size`: 30 -> '30s', 300 -> '5m', 3600 -> '1h'."""
    for unit, factor in (("h", 3600), ("m", 60)):
        if seconds % factor == 0:
            return f"{seconds // factor}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True, order=True)
class WindowSpec:
    size_s: int
    slide_s: int

    def __post_init__(self) -> None:
        if self.size_s <= 0 or self.slide_s <= 0:
            raise ValueError("window size and slide must be positive")
        if self.size_s % self.slide_s != 0:
            raise ValueError(
                f"window size {self.size_s}s must be a whole multiple of its slide {self.slide_s}s"
            )

    @property
    def label(self) -> str:
        """The seed's `window_size` value, e.g. '30s'."""
        return format_duration(self.size_s)

    @property
    def size_ms(self) -> int:
        return self.size_s * 1000

    @property
    def slide_ms(self) -> int:
        return self.slide_s * 1000

    def window_starts(self, timestamp_ms: int) -> list[int]:
        """Starts of every window that contains `timestamp_ms`, oldest first."""
        last_start = timestamp_ms - timestamp_ms % self.slide_ms
        count = self.size_s // self.slide_s
        return [last_start - k * self.slide_ms for k in range(count - 1, -1, -1)]

    def __str__(self) -> str:
        return f"{format_duration(self.size_s)}/{format_duration(self.slide_s)}"


def comma_pairs(text: str, sep: str, what: str, usage: str) -> Iterator[tuple[str, str]]:
    """'a/b,c/d' -> ('a', 'b'), ('c', 'd') for sep '/', blank entries skipped; an entry without `sep` is a
    ValueError naming it as a bad `what` and saying `usage`."""
    for part in text.split(","):
        if not part.strip():
            continue
        left, found, right = part.partition(sep)
        if not found:
            raise ValueError(f"bad {what} {part.strip()!r}: use {usage}")
        yield left, right


def parse_window_specs(text: str) -> list[WindowSpec]:
    """'30s/10s,5m/1m' -> two specs. Labels must be unique, since they key the Redis data."""
    specs = [WindowSpec(parse_duration_s(size), parse_duration_s(slide))
             for size, slide in comma_pairs(text, "/", "window spec", "SIZE/SLIDE, e.g. '30s/10s'")]
    if not specs:
        raise ValueError("no window spec given: use e.g. '30s/10s'")
    labels = [spec.label for spec in specs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"window sizes must be unique, got {labels}")
    return specs


# When a window counts as closed: once its end plus a grace has passed on the wall clock. The sync
# worker waits SYNC_GRACE_S beyond the end (so a late rewrite by Flink lands in Redis first); the API's
# history counts a window from its end (grace 0). Both ask these functions.
def closes_at_ms(window_end_ms: int, grace_ms: int = 0) -> int:
    return window_end_ms + grace_ms


def is_closed(window_end_ms: int, now_ms: int, grace_ms: int = 0) -> bool:
    """True once `window_end + grace <= now`."""
    return closes_at_ms(window_end_ms, grace_ms) <= now_ms


def last_closed_start_ms(size_ms: int, now_ms: int, grace_ms: int = 0) -> int:
    """The greatest window_start of a `size_ms` window that is closed at `now_ms`."""
    return now_ms - grace_ms - size_ms
