"""History tiers: the window specs the job computes (WINDOW_SPECS), each kept in PostgreSQL for its own retention
(HISTORY_RETENTION), e.g. the live 30s/10s windows for 7 days and 1h tumbling windows for two years.

The sync worker deletes rows past their tier's retention; the API's `resolution=auto` picks among the tiers.
Both read them here. Unique users are exact at every tier: each tier is a window spec of the Flink job, computed
from the events themselves (COUNT DISTINCT), never merged from finer windows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from contracts.windows import WindowSpec, comma_pairs, format_duration, parse_duration_s

# Every tier of the default WINDOW_SPECS with its retention: the live windows for a week of detail, minutes for a
# month, five minutes for a quarter (a day in 288 points), hours for two years (a year in 8,760 rows per series).
DEFAULT_WINDOW_SPECS = "30s/10s,1m/1m,5m/5m,1h/1h"
DEFAULT_HISTORY_RETENTION = "30s=7d,1m=30d,5m=90d,1h=730d"
FOREVER = "forever"
_RETENTION_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_RETENTION = re.compile(r"^(\d+)([smhd])$")


def parse_retention_s(text: str) -> int | None:
    """'7d' -> 604800, '12h' -> 43200; 'forever' -> None (never deleted)."""
    text = text.strip()
    if text == FOREVER:
        return None
    match = _RETENTION.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"bad retention {text!r}: use a whole number of s, m, h or d (e.g. 30d), or {FOREVER}")
    return int(match.group(1)) * _RETENTION_UNITS_S[match.group(2)]


def format_retention(seconds: int | None) -> str:
    if seconds is None:
        return FOREVER
    if seconds % 86_400 == 0:
        return f"{seconds // 86_400}d"
    return format_duration(seconds)


def parse_retention(text: str) -> dict[str, int | None]:
    """'30s=7d,1m=30d' -> {'30s': 604800, '1m': 2592000}: window size label -> seconds (None: forever).
    A size is read as WINDOW_SPECS labels it ('60s' is '1m')."""
    retention: dict[str, int | None] = {}
    for size, kept in comma_pairs(text, "=", "entry", "SIZE=RETENTION, e.g. 30s=7d"):
        label = format_duration(parse_duration_s(size))
        if label in retention:
            raise ValueError(f"window size {label} is given twice")
        seconds = parse_retention_s(kept)
        if seconds is not None and seconds < parse_duration_s(label):
            raise ValueError(f"{label} windows kept {kept.strip()}: keep them at least one window long")
        retention[label] = seconds
    return retention


@dataclass(frozen=True)
class Tier:
    """One window spec of the job and how long PostgreSQL keeps its windows (None: forever)."""

    spec: WindowSpec
    retention_s: int | None

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def slide_ms(self) -> int:
        return self.spec.slide_ms

    def kept_from_ms(self, now_ms: int) -> int | None:
        """The oldest window_start still kept at `now_ms` (None: everything is kept)."""
        return None if self.retention_s is None else now_ms - self.retention_s * 1000

    def points(self, start_ms: int, end_ms: int) -> int:
        """How many windows of this tier start in [start_ms, end_ms): starts are multiples of the slide."""
        slide = self.slide_ms
        return max(0, (end_ms - 1) // slide - (start_ms + slide - 1) // slide + 1)


def finest_first(tiers: Iterable[Tier]) -> list[Tier]:
    """Tiers from the finest (smallest slide, then size) to the coarsest."""
    return sorted(tiers, key=lambda tier: (tier.spec.slide_s, tier.spec.size_s))


def retention_of(text: str, specs: Iterable[WindowSpec]) -> dict[str, int | None]:
    """HISTORY_RETENTION read for these specs. The default names the default tiers: with other WINDOW_SPECS it keeps
    the sizes they share (e.g. WINDOW_SPECS=30s/10s alone keeps its 7 days); a value given must name only specs."""
    retention = parse_retention(text)
    if text == DEFAULT_HISTORY_RETENTION:
        labels = {spec.label for spec in specs}
        retention = {label: kept for label, kept in retention.items() if label in labels}
    return retention


def build_tiers(specs: Iterable[WindowSpec], retention: dict[str, int | None]) -> list[Tier]:
    """The tiers, finest first; a size without a retention is kept forever. Every size of `retention` must be
    one of the specs' labels."""
    spec_list = list(specs)
    labels = [spec.label for spec in spec_list]
    unknown = [label for label in retention if label not in labels]
    if unknown:
        raise ValueError(
            f"{', '.join(unknown)} {'is not a window size' if len(unknown) == 1 else 'are not window sizes'} of "
            f"WINDOW_SPECS ({', '.join(labels)}): list only those (a size left out is kept forever)"
        )
    return finest_first(Tier(spec, retention.get(spec.label)) for spec in spec_list)


def describe_tiers(tiers: Iterable[Tier]) -> str:
    """'30s/10s 7d, 1m/1m 30d, ...' for a start-up log line."""
    return ", ".join(f"{tier.spec} {format_retention(tier.retention_s)}" for tier in tiers)
