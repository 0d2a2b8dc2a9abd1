"""The load generator's traffic model: reproducible, skewed, disordered as asked."""

from __future__ import annotations

from collections import Counter

from contracts.events import TrackEvent
from tools.loadgen import EVENT_TYPES, EventGenerator, Traffic


def events(traffic: Traffic, count: int) -> list[dict[str, object]]:
    generator = EventGenerator(traffic)
    return [generator.next_event() for _ in range(count)]


def test_same_seed_same_events_and_every_event_is_valid() -> None:
    traffic = Traffic(seed=11, start_ms=1_719_392_400_000, rate=100, jitter_ms=500)
    first, second = events(traffic, 500), events(traffic, 500)
    assert first == second
    assert first != events(Traffic(seed=12, start_ms=1_719_392_400_000, rate=100), 500)
    for event in first:
        TrackEvent.model_validate(event, strict=True)


def test_skewed_users_all_types_and_late_events() -> None:
    start = 1_719_392_400_000
    sample = events(Traffic(seed=5, users=100, start_ms=start, rate=1000, jitter_ms=1000,
                            late_fraction=0.1, late_by_ms=60_000), 5000)
    users = Counter(str(event["user_id"]) for event in sample)
    assert users.most_common(1)[0][1] > 10 * users["user-00050"], "the top user is far more active"
    assert set(Counter(event["event_type"] for event in sample)) == set(EVENT_TYPES)
    lateness = [start + i - int(str(event["timestamp"])) for i, event in enumerate(sample)]
    late = sum(1 for delay in lateness if delay >= 60_000)
    assert 350 < late < 650, "about 10% are a minute late"
    assert max(delay for delay in lateness if delay < 60_000) <= 1000, "jitter stays within bounds"
