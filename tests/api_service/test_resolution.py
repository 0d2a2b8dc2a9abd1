"""`/metrics/history?resolution=`: the rule (pure) over the default tiers, then the real API process over
windows of every tier in the real PostgreSQL and Redis."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import redis

from api_service.resolution import AUTO, ResolutionError, resolve
from contracts.events import now_ms
from contracts.redis_keys import upsert_windows
from contracts.settings import HistorySettings
from contracts.tiers import Tier
from contracts.window_results import WindowMetrics
from harness.infra import Infra
from harness.stores import insert_history
from harness.windows import make_window
from tests.api_service.fixtures import ApiServer

TIERS = HistorySettings().tiers  # the defaults: 30s/10s 7d, 1m/1m 30d, 5m/5m 90d, 1h/1h 730d
HOUR_MS, DAY_MS = 3_600_000, 86_400_000
NOW_MS = 1_790_000_000_000 // HOUR_MS * HOUR_MS


def chosen(start_ms: int | None, end_ms: int | None = NOW_MS, requested: str = AUTO, **options: object) -> Tier:
    return resolve(TIERS, requested, start_ms=start_ms, end_ms=end_ms, now_ms=NOW_MS, budget=1000,
                   **options).tier  # type: ignore[arg-type]


def test_the_default_tiers() -> None:
    assert [(str(tier.spec), tier.retention_s) for tier in TIERS] == [
        ("30s/10s", 7 * 86_400), ("1m/1m", 30 * 86_400), ("5m/5m", 90 * 86_400), ("1h/1h", 730 * 86_400)]


@pytest.mark.parametrize(("range_ms", "label", "points"), [
    (5 * 60_000, "30s", 30),
    (HOUR_MS, "30s", 360),
    (10_000 * 1000, "30s", 1000),  # exactly 1,000 windows still fit
    (10_010 * 1000, "1m", 166),  # starts at -166 min .. -1 min
    (6 * HOUR_MS, "1m", 360),
    (16 * HOUR_MS, "1m", 960),
    (17 * HOUR_MS, "5m", 204),
    (DAY_MS, "5m", 288),
    (3 * DAY_MS, "5m", 864),
    (4 * DAY_MS, "1h", 96),
    (7 * DAY_MS, "1h", 168),
    (30 * DAY_MS, "1h", 720),
    (41 * DAY_MS, "1h", 984),
])
def test_auto_picks_the_finest_tier_answering_the_range_in_at_most_1000_points(
    range_ms: int, label: str, points: int
) -> None:
    answer = resolve(TIERS, AUTO, start_ms=NOW_MS - range_ms, end_ms=NOW_MS, now_ms=NOW_MS, budget=1000)
    assert (answer.window_size, answer.points, answer.whole) == (label, points, True)
    assert answer.points is not None and answer.points <= 1000
    finer = TIERS[:TIERS.index(answer.tier)]
    for tier in finer:  # each finer tier needs more than 1,000 windows
        assert tier.points(NOW_MS - range_ms, NOW_MS) > 1000


def test_an_end_in_the_future_counts_up_to_now_and_a_tier_must_still_keep_the_start() -> None:
    assert chosen(NOW_MS - HOUR_MS, NOW_MS + 30 * DAY_MS).label == "30s"
    # Ten days ago, one hour: the 30s windows are gone (7 days), the 1m ones kept (30 days).
    assert chosen(NOW_MS - 10 * DAY_MS, NOW_MS - 10 * DAY_MS + HOUR_MS).label == "1m"
    assert chosen(NOW_MS - 100 * DAY_MS, NOW_MS - 100 * DAY_MS + HOUR_MS).label == "1h"
    assert chosen(NOW_MS - 7 * DAY_MS, NOW_MS - 7 * DAY_MS + HOUR_MS).label == "30s"  # the edge is kept


def test_no_tier_fine_enough_gives_the_coarsest_not_whole() -> None:
    too_long = resolve(TIERS, AUTO, start_ms=NOW_MS - 42 * DAY_MS, end_ms=None, now_ms=NOW_MS, budget=1000)
    assert (too_long.window_size, too_long.points, too_long.whole) == ("1h", 1008, False)
    too_old = resolve(TIERS, AUTO, start_ms=NOW_MS - 1000 * DAY_MS, end_ms=NOW_MS - 999 * DAY_MS,
                      now_ms=NOW_MS, budget=1000)
    assert (too_old.window_size, too_old.points, too_old.whole) == ("1h", 24, False)


def test_open_start_budget_finest_and_explicit_resolutions() -> None:
    open_start = resolve(TIERS, AUTO, start_ms=None, end_ms=None, now_ms=NOW_MS, budget=1000)
    assert (open_start.window_size, open_start.points, open_start.whole) == ("30s", None, False)
    assert resolve(TIERS, AUTO, start_ms=NOW_MS - HOUR_MS, end_ms=None, now_ms=NOW_MS, budget=100).window_size == "1m"
    assert chosen(NOW_MS - HOUR_MS, finest="5m").label == "5m"
    assert chosen(None, finest="1m").label == "1m"
    explicit = resolve(TIERS, "1m", start_ms=NOW_MS - DAY_MS, end_ms=NOW_MS, now_ms=NOW_MS, budget=1000)
    assert (explicit.window_size, explicit.points, explicit.whole) == ("1m", 1440, False)
    assert explicit.body() == {"window_size": "1m", "slide": "1m", "points": 1440, "whole": False}
    with pytest.raises(ResolutionError, match=r"one of the history tiers \(30s, 1m, 5m, 1h\), got 2m"):
        chosen(None, requested="2m")
    with pytest.raises(ResolutionError, match="window_size"):
        chosen(None, finest="10s")


# ---- the real API process ------------------------------------------------------------------------------------

def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tier_windows(event_type: str, tier: Tier, start_ms: int, end_ms: int) -> list[WindowMetrics]:
    """Every window of the tier with start_ms <= window_start and window_end <= end_ms, counts by position."""
    first = -(-start_ms // tier.slide_ms) * tier.slide_ms
    starts = range(first, end_ms - tier.spec.size_ms + 1, tier.slide_ms)
    return [make_window(event_type, start, count=1 + index % 97, size_s=tier.spec.size_s)
            for index, start in enumerate(starts)]


def entries_of(windows: list[WindowMetrics], start_ms: int, end_ms: int, limit: int = 1000) -> list[int]:
    """The window starts an answer holds: in [start_ms, end_ms), newest first, at most `limit`."""
    return sorted((w.window_start for w in windows if start_ms <= w.window_start < end_ms), reverse=True)[:limit]


@pytest.fixture(scope="module")
def loaded(api: ApiServer, infra: Infra) -> tuple[str, int, dict[str, list[WindowMetrics]]]:
    """25 hours of windows of every default tier, up to the last full hour, in PostgreSQL; by window size."""
    anchor = now_ms() // HOUR_MS * HOUR_MS
    event_type = "resolution-check"
    windows = {tier.label: tier_windows(event_type, tier, anchor - 25 * HOUR_MS, anchor) for tier in TIERS}
    insert_history(infra.postgres_dsn, api.schema, [w for found in windows.values() for w in found])
    return event_type, anchor, windows


@pytest.mark.parametrize(("hours", "label", "slide", "points"), [
    (1, "30s", "10s", 360), (6, "1m", "1m", 360), (24, "5m", "5m", 288)])
def test_auto_answers_each_range_from_the_right_tier(
    api: ApiServer, loaded: tuple[str, int, dict[str, list[WindowMetrics]]], hours: int, label: str, slide: str,
    points: int,
) -> None:
    event_type, anchor, windows = loaded
    start = anchor - hours * HOUR_MS
    body = api.get("/metrics/history", event_type=event_type, start_time=iso(start), end_time=iso(anchor),
                   resolution="auto").json()
    assert body["resolution"] == {"window_size": label, "slide": slide, "points": points, "whole": True}
    assert body["window_size"] == label
    assert [entry["window_start"] for entry in body["entries"]] == entries_of(windows[label], start, anchor)
    assert list(body) == ["event_type", "window_size", "entries", "resolution"]


def test_resolution_with_an_open_range_a_limit_and_explicit_tiers(
    api: ApiServer, loaded: tuple[str, int, dict[str, list[WindowMetrics]]]
) -> None:
    event_type, anchor, windows = loaded
    day_ago = anchor - 24 * HOUR_MS
    # No end_time: up to now, which is at most an hour past the anchor: 5m windows, whole.
    open_end = api.get("/metrics/history", event_type=event_type, start_time=iso(day_ago), resolution="auto").json()
    assert (open_end["window_size"], open_end["resolution"]["whole"]) == ("5m", True)
    assert [e["window_start"] for e in open_end["entries"]] == entries_of(windows["5m"], day_ago, anchor)
    # No start_time: the finest tier's newest 1,000 windows.
    open_start = api.get("/metrics/history", event_type=event_type, resolution="auto").json()
    assert open_start["resolution"] == {"window_size": "30s", "slide": "10s", "points": None, "whole": False}
    assert [e["window_start"] for e in open_start["entries"]] == entries_of(windows["30s"], 0, anchor)
    # A smaller limit is a smaller budget: a coarser tier.
    small = api.get("/metrics/history", event_type=event_type, start_time=iso(anchor - HOUR_MS),
                    end_time=iso(anchor), resolution="auto", limit=100).json()
    assert small["resolution"] == {"window_size": "1m", "slide": "1m", "points": 60, "whole": True}
    # window_size with auto is the finest wanted.
    floor = api.get("/metrics/history", event_type=event_type, start_time=iso(anchor - HOUR_MS),
                    end_time=iso(anchor), resolution="auto", window_size="5m").json()
    assert (floor["window_size"], len(floor["entries"])) == ("5m", 12)
    explicit = api.get("/metrics/history", event_type=event_type, start_time=iso(day_ago), end_time=iso(anchor),
                       resolution="30s").json()
    assert explicit["resolution"] == {"window_size": "30s", "slide": "10s", "points": 8640, "whole": False}
    assert [e["window_start"] for e in explicit["entries"]] == entries_of(windows["30s"], day_ago, anchor)
    # Without resolution, the seed's answer, unchanged.
    plain = api.get("/metrics/history", event_type=event_type, start_time=iso(day_ago), end_time=iso(anchor)).json()
    assert list(plain) == ["event_type", "window_size", "entries"]
    assert (plain["window_size"], len(plain["entries"])) == ("30s", 100)


def test_auto_reads_unsynced_windows_and_breakdowns_at_the_chosen_tier(
    api: ApiServer, infra: Infra, redis_client: redis.Redis, event_type: str
) -> None:
    anchor = now_ms() // HOUR_MS * HOUR_MS
    start = anchor - 24 * HOUR_MS
    five = [make_window(event_type, start + k * 300_000, count=k + 1, size_s=300) for k in range(288)]
    by_country = [w.model_copy(update={"breakdown": "country", "breakdown_value": country, "count": n})
                  for w in five for country, n in (("DE", 3), ("FR", 1))]
    thirty = [make_window(event_type, anchor - k * 10_000, count=5) for k in range(1, 50)]
    insert_history(infra.postgres_dsn, api.schema, five[:-1] + by_country + thirty)
    upsert_windows(redis_client, api.keys, five[-1:])  # closed, not synced yet

    body = api.get("/metrics/history", event_type=event_type, start_time=iso(start), end_time=iso(anchor),
                   resolution="auto", breakdown="country").json()
    assert body["resolution"]["window_size"] == "5m"
    assert [e["count"] for e in body["entries"]] == [w.count for w in reversed(five)]
    assert [(s["value"], len(s["entries"])) for s in body["series"]] == [("DE", 288), ("FR", 288)]
    assert {e["window_start"] for e in body["series"][0]["entries"]} == {w.window_start for w in five}


@pytest.mark.parametrize(("params", "named", "message"), [
    ({"resolution": "2m"}, "resolution", "one of the history tiers (30s, 1m, 5m, 1h), got 2m"),
    ({"resolution": "often"}, "resolution", "pattern"),
    ({"resolution": "1m", "window_size": "30s"}, "window_size", "window_size 30s and resolution 1m disagree"),
    ({"resolution": "auto", "window_size": "2m"}, "window_size", "one of the history tiers"),
])
def test_bad_resolutions_are_a_422_naming_the_parameter(
    api: ApiServer, params: dict[str, str], named: str, message: str
) -> None:
    response = api.get("/metrics/history", event_type="click", **params)
    assert response.status_code == 422
    assert response.json()["message"].startswith(f"invalid parameter {named}:")
    assert message in response.json()["message"]
