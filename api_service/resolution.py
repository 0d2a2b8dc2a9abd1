"""`/metrics/history?resolution=`: which history tier answers a time range (pure logic, no I/O).

`auto` takes the finest tier (contracts/tiers.py, finest first) that answers the whole range: at most `budget`
windows (the request's `limit`, 1,000 unless given) between start_time and the earlier of end_time and now, and
a retention that still keeps windows from start_time. When none does, the coarsest tier answers (its newest
`limit` windows) and says it is not whole. Without start_time the range has no length: the finest tier answers,
its newest `limit` windows. A window size in `window_size` is the finest resolution wanted: `auto` picks among
that tier and the coarser ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.tiers import Tier
from contracts.windows import format_duration

AUTO = "auto"


class ResolutionError(ValueError):
    """A requested resolution (or finest window size) that is not a tier."""


@dataclass(frozen=True)
class Resolution:
    tier: Tier
    points: int | None  # windows of the tier in the range; None without start_time
    whole: bool  # every window of the range fits in the answer and is still kept

    @property
    def window_size(self) -> str:
        return self.tier.label

    def body(self) -> dict[str, Any]:
        """The answer's `resolution` field."""
        return {"window_size": self.tier.label, "slide": format_duration(self.tier.spec.slide_s),
                "points": self.points, "whole": self.whole}


def labels(tiers: list[Tier]) -> str:
    return ", ".join(tier.label for tier in tiers)


def tier_named(tiers: list[Tier], label: str, what: str) -> int:
    """The position of the tier labelled `label` among `tiers`."""
    for position, tier in enumerate(tiers):
        if tier.label == label:
            return position
    raise ResolutionError(f"{what} must be one of the history tiers ({labels(tiers)}), got {label}")


def resolve(
    tiers: list[Tier], requested: str, *, start_ms: int | None, end_ms: int | None, now_ms: int, budget: int,
    finest: str | None = None,
) -> Resolution:
    """The tier answering [start_ms, end_ms) (None: open) for `requested` (`auto` or a tier's window size)."""

    def judged(tier: Tier) -> Resolution:
        if start_ms is None:
            return Resolution(tier, None, False)
        points = tier.points(start_ms, min(end_ms if end_ms is not None else now_ms, now_ms))
        kept_from = tier.kept_from_ms(now_ms)
        return Resolution(tier, points, points <= budget and (kept_from is None or start_ms >= kept_from))

    if requested != AUTO:
        return judged(tiers[tier_named(tiers, requested, "resolution")])
    candidates = tiers[tier_named(tiers, finest, "window_size (with resolution=auto)"):] if finest else tiers
    if start_ms is None:
        return judged(candidates[0])
    for tier in candidates:
        if (answer := judged(tier)).whole:
            return answer
    return judged(candidates[-1])
