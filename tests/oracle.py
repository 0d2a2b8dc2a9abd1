"""A plain-Python oracle of the job's sliding windows, and a deterministic event generator.

The oracle knows nothing of Flink: for each event it lists every window containing its timestamp
(contracts.windows maths) and aggregates count, sum of value, distinct users and the percentiles of value
per window. Values are multiples of 0.25 so float sums are exact in any order. Percentiles are exact
(nearest rank: the smallest value with at least q of the window's values at or below it), which the job's
sketch also is up to 200 events in a window; `percentile_rank_ok` checks a larger window's estimate
against the stated rank error.
"""

from __future__ import annotations

import bisect
import math
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from contracts.events import Event
from contracts.window_results import PERCENTILE_RANK_ERROR, PERCENTILES, WindowMetrics
from contracts.windows import WindowSpec
from harness.windows import WindowKey


@dataclass
class _Acc:
    count: int = 0
    total_value: float = 0.0
    users: set[str] = field(default_factory=set)
    values: list[float] = field(default_factory=list)


def nearest_rank(sorted_values: list[float], quantile: float) -> float:
    """The smallest value with at least `quantile` of the values at or below it."""
    return sorted_values[max(1, math.ceil(quantile * len(sorted_values))) - 1]


def percentile_rank_ok(sorted_values: list[float], quantile: float, estimate: float) -> bool:
    """Whether `estimate` is a value whose rank lies within the stated error of `quantile` (ties: any of them)."""
    n = len(sorted_values)
    lowest, highest = bisect.bisect_left(sorted_values, estimate) / n, bisect.bisect_right(sorted_values, estimate) / n
    return lowest - PERCENTILE_RANK_ERROR <= quantile <= highest + PERCENTILE_RANK_ERROR


def expected_windows(events: Iterable[Event], specs: Iterable[WindowSpec]) -> dict[WindowKey, WindowMetrics]:
    accumulators: dict[WindowKey, _Acc] = defaultdict(_Acc)
    spec_list = list(specs)
    for event in events:
        for spec in spec_list:
            for start in spec.window_starts(event.timestamp):
                acc = accumulators[(event.event_type, spec.label, start)]
                acc.count += 1
                acc.total_value += event.value
                acc.users.add(event.user_id)
                acc.values.append(event.value)
    sizes = {spec.label: spec.size_ms for spec in spec_list}
    return {
        key: WindowMetrics(
            window_start=key[2],
            window_end=key[2] + sizes[key[1]],
            count=acc.count,
            total_value=acc.total_value,
            unique_users=len(acc.users),
            event_type=key[0],
            window_size=key[1],
            **{name: nearest_rank(sorted(acc.values), quantile) for name, quantile in PERCENTILES},
        )
        for key, acc in accumulators.items()
    }


def generate_events(
    rng: random.Random,
    *,
    start_ms: int,
    duration_ms: int,
    count: int,
    event_types: tuple[str, ...] = ("click", "view", "purchase"),
    users: int = 25,
    max_disorder_ms: int = 4000,
) -> list[Event]:
    """`count` events with timestamps in [start_ms, start_ms + duration_ms), in arrival order.

    Arrival order is event-time order disturbed by up to `max_disorder_ms` (less than the
    watermark delay, so none of these is late)."""
    stamped = []
    for index in range(count):
        timestamp = start_ms + rng.randrange(duration_ms)
        arrival = timestamp + rng.randrange(max_disorder_ms + 1)
        event = Event(
            event_id=f"e{index}-{rng.randrange(10**9)}",
            event_type=rng.choice(event_types),
            user_id=f"user-{int(rng.paretovariate(1.2)) % users}",
            value=rng.randrange(0, 400) * 0.25,
            timestamp=timestamp,
            properties={},
        )
        stamped.append((arrival, index, event))
    return [event for _, _, event in sorted(stamped, key=lambda item: (item[0], item[1]))]
