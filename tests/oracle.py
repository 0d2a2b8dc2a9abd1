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

from contracts.events import MAX_ID_LENGTH, Event
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
    return {key: _window(key, sizes[key[1]], acc) for key, acc in accumulators.items()}


NONE, OTHER = "(none)", "(other)"  # the breakdown buckets of flink_service/functions (BreakdownWindows)
Identity = tuple[str, str, int, str, str]


def breakdown_value(event: Event, breakdown: str) -> str:
    """The event's value of a breakdown property: a non-empty string, cut to MAX_ID_LENGTH; else (none)."""
    value = event.properties.get(breakdown)
    return value[:MAX_ID_LENGTH] if isinstance(value, str) and value else NONE


def _window(key: tuple[str, str, int], size_ms: int, acc: _Acc, **extra: str) -> WindowMetrics:
    return WindowMetrics(
        window_start=key[2], window_end=key[2] + size_ms, count=acc.count, total_value=acc.total_value,
        unique_users=len(acc.users), event_type=key[0], window_size=key[1],
        **{name: nearest_rank(sorted(acc.values), quantile) for name, quantile in PERCENTILES}, **extra,
    )


def expected_breakdown_windows(
    events: Iterable[Event], specs: Iterable[WindowSpec], breakdowns: Iterable[str], max_values: int
) -> dict[Identity, WindowMetrics]:
    """Per (window, breakdown property): the `max_values` values with most events (ties: by value) keep their
    own window, every other value's events make one (other) window."""
    per_value: dict[tuple[str, str, int, str], dict[str, _Acc]] = defaultdict(lambda: defaultdict(_Acc))
    spec_list, breakdown_list = list(specs), list(breakdowns)
    for event in events:
        for spec in spec_list:
            for start in spec.window_starts(event.timestamp):
                for breakdown in breakdown_list:
                    acc = per_value[(event.event_type, spec.label, start, breakdown)][breakdown_value(event, breakdown)]
                    acc.count += 1
                    acc.total_value += event.value
                    acc.users.add(event.user_id)
                    acc.values.append(event.value)
    sizes = {spec.label: spec.size_ms for spec in spec_list}
    expected: dict[Identity, WindowMetrics] = {}
    for (event_type, label, start, breakdown), values in per_value.items():
        ranked = sorted(values.items(), key=lambda item: (-item[1].count, item[0]))
        kept, rest = ranked[:max_values], ranked[max_values:]
        if rest:
            other = _Acc()
            for _, acc in rest:
                other.count += acc.count
                other.total_value += acc.total_value
                other.users |= acc.users
                other.values += acc.values
            kept.append((OTHER, other))
        for value, acc in kept:
            window = _window((event_type, label, start), sizes[label], acc, breakdown=breakdown, breakdown_value=value)
            expected[window.identity] = window
    return expected


def generate_events(
    rng: random.Random,
    *,
    start_ms: int,
    duration_ms: int,
    count: int,
    event_types: tuple[str, ...] = ("click", "view", "purchase"),
    users: int = 25,
    max_disorder_ms: int = 4000,
    countries: tuple[str, ...] = (),
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
            properties={"country": rng.choice(countries)} if countries else {},
        )
        stamped.append((arrival, index, event))
    return [event for _, _, event in sorted(stamped, key=lambda item: (item[0], item[1]))]
