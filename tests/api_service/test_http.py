"""The HTTP endpoints against real Redis and PostgreSQL, with data each test writes itself."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
import redis

from contracts.events import now_ms
from contracts.redis_keys import COUNT_SKIPPED_LUA, SkippedCount, count_skipped_call, upsert_windows
from contracts.window_results import WindowMetrics
from contracts.windows import parse_duration_s
from harness.infra import Infra, free_port
from harness.stores import insert_history
from harness.windows import make_window
from tests.api_service.fixtures import ApiServer

HOUR_MS = 3_600_000
# Whole minutes well in the past: every window there has closed.
BASE_MS = (now_ms() - 2 * HOUR_MS) // 60_000 * 60_000


def starts(body: dict[str, object]) -> list[int]:
    entries = body["entries"]
    assert isinstance(entries, list)
    return [entry["window_start"] for entry in entries]


@pytest.mark.parametrize("path", ["/metrics", "/metrics/realtime"])
def test_newest_windows_first_in_the_seed_shape(
    api: ApiServer, redis_client: redis.Redis, event_type: str, path: str
) -> None:
    windows = [make_window(event_type, BASE_MS + k * 10_000, count=k + 1) for k in range(5)]
    upsert_windows(redis_client, api.keys, windows)
    upsert_windows(redis_client, api.keys, [make_window(event_type, BASE_MS, count=1, size_s=60)])  # another size

    response = api.get(path, event_type=event_type, window_size="30s", limit=3)

    assert response.status_code == 200
    newest = windows[4]
    assert response.json() == {
        "event_type": event_type,
        "window_size": "30s",
        "entries": [w.to_entry() for w in reversed(windows[2:])],
    }
    assert list(response.json()["entries"][0]) == ["window_start", "count", "total_value", "unique_users"]
    assert response.json()["entries"][0]["count"] == newest.count


def test_window_size_defaults_to_30s_and_a_rewritten_window_is_not_duplicated(
    api: ApiServer, redis_client: redis.Redis, event_type: str
) -> None:
    upsert_windows(redis_client, api.keys, [make_window(event_type, BASE_MS, count=1)])
    upsert_windows(redis_client, api.keys, [make_window(event_type, BASE_MS, count=9)])

    body = api.get("/metrics/realtime", event_type=event_type).json()

    assert body["window_size"] == "30s"
    assert [(e["window_start"], e["count"]) for e in body["entries"]] == [(BASE_MS, 9)]


def test_metrics_are_the_newest_windows_wherever_they_are_and_realtime_what_redis_holds(
    api: ApiServer, infra: Infra, redis_client: redis.Redis, event_type: str
) -> None:
    """Issue 14 point 3: the sync worker moved five windows to PostgreSQL, Redis holds the newest one."""
    windows = [make_window(event_type, BASE_MS + k * 10_000, count=k + 1) for k in range(6)]
    insert_history(infra.postgres_dsn, api.schema, windows[:5])
    upsert_windows(redis_client, api.keys, windows[5:])

    newest = api.get("/metrics", event_type=event_type, window_size="30s", limit=5)
    realtime = api.get("/metrics/realtime", event_type=event_type, window_size="30s", limit=5)

    assert newest.json()["entries"] == [w.to_entry() for w in reversed(windows[1:])]
    assert realtime.json()["entries"] == [windows[5].to_entry()]
    # The seed's phase-3 sample query, /metrics/metrics, is the same endpoint (undocumented alias).
    seed_sample = api.get("/metrics/metrics", event_type=event_type, window_size="30s", limit=5)
    assert (seed_sample.status_code, seed_sample.json()) == (200, newest.json())
    assert "/metrics/metrics" not in api.get("/openapi.json").json()["paths"]


def test_unknown_event_type_gets_empty_entries(api: ApiServer) -> None:
    for path in ("/metrics", "/metrics/realtime", "/metrics/history"):
        response = api.get(path, event_type="never-seen-type", window_size="5m")
        assert response.status_code == 200, path
        assert response.json() == {"event_type": "never-seen-type", "window_size": "5m", "entries": []}


def test_history_merges_postgres_with_closed_unsynced_redis_windows(
    api: ApiServer, infra: Infra, redis_client: redis.Redis, event_type: str
) -> None:
    synced = [make_window(event_type, BASE_MS + k * 10_000, count=10 + k) for k in range(4)]
    insert_history(infra.postgres_dsn, api.schema, synced)
    # Redis holds a newer value of the last synced window, two closed unsynced ones and one still open.
    rewritten = make_window(event_type, synced[3].window_start, count=99)
    unsynced = [make_window(event_type, BASE_MS + k * 10_000, count=20 + k) for k in (4, 5)]
    open_start = now_ms() // 10_000 * 10_000
    upsert_windows(redis_client, api.keys, [rewritten, *unsynced, make_window(event_type, open_start, count=7)])

    body = api.get("/metrics/history", event_type=event_type, window_size="30s").json()

    expected = [*reversed(unsynced), rewritten, *reversed(synced[:3])]
    assert body["entries"] == [w.to_entry() for w in expected]


def test_history_time_range_and_limit(api: ApiServer, infra: Infra, redis_client: redis.Redis, event_type: str) -> None:
    synced = [make_window(event_type, BASE_MS + k * 10_000) for k in range(6)]
    insert_history(infra.postgres_dsn, api.schema, synced[:3])
    upsert_windows(redis_client, api.keys, synced[3:])

    def iso(ms: int) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"

    in_range = api.get(
        "/metrics/history",
        event_type=event_type,
        start_time=iso(synced[1].window_start),
        end_time=iso(synced[5].window_start),  # exclusive
    ).json()
    assert starts(in_range) == [w.window_start for w in reversed(synced[1:5])]

    limited = api.get("/metrics/history", event_type=event_type, limit=2).json()
    assert starts(limited) == [synced[5].window_start, synced[4].window_start]

    offset = api.get(
        "/metrics/history", event_type=event_type, start_time=iso(synced[4].window_start)[:-1] + "+00:00"
    ).json()
    assert starts(offset) == [synced[5].window_start, synced[4].window_start]


def test_listing_endpoints(api: ApiServer, redis_client: redis.Redis, event_type: str) -> None:
    windows = [make_window(event_type, BASE_MS, size_s=300), make_window(event_type, BASE_MS)]
    upsert_windows(redis_client, api.keys, windows)

    event_types = api.get("/metrics/event-types").json()["event_types"]
    window_sizes = api.get("/metrics/window-sizes").json()["window_sizes"]

    assert event_type in event_types and event_types == sorted(event_types)
    assert {"30s", "5m"} <= set(window_sizes)
    assert window_sizes == sorted(window_sizes, key=parse_duration_s)


def test_health_reports_both_stores_and_the_relay(api: ApiServer) -> None:
    response = api.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["redis"], body["postgres"], body["live_relay"]) == ("ok", True, True, "subscribed")


def test_health_is_503_while_postgres_does_not_answer(start_api: Callable[..., ApiServer]) -> None:
    server = start_api(wait_healthy=False, POSTGRES_PORT=str(free_port()))

    response = server.get("/health")

    assert response.status_code == 503
    assert (response.json()["postgres"], response.json()["redis"]) == (False, True)
    for path in ("/metrics/history", "/metrics"):
        answer = server.get(path, event_type="click")
        assert answer.status_code == 503 and "PostgreSQL" in answer.json()["detail"], path
    assert server.get("/metrics/realtime", event_type="click").status_code == 200


def test_openapi_documents_the_endpoints_with_examples(api: ApiServer) -> None:
    spec = api.get("/openapi.json").json()

    for path in ("/metrics", "/metrics/realtime", "/metrics/history", "/metrics/event-types", "/health"):
        assert path in spec["paths"], path
    params = {p["name"]: p for p in spec["paths"]["/metrics/history"]["get"]["parameters"]}
    assert set(params) == {"event_type", "window_size", "start_time", "end_time", "limit", "breakdown", "resolution"}
    assert params["start_time"]["examples"]["example"]["value"] == "2024-06-26T09:00:00Z"
    assert params["end_time"]["examples"]["example"]["value"] == "2024-06-26T10:00:00Z", "a range, not empty"
    assert set(spec["paths"]["/health"]["get"]["responses"]) == {"200", "503"}
    assert all(param["examples"] and param["description"] for param in params.values())
    schema = spec["components"]["schemas"]["MetricsResponseModel"]
    assert schema["examples"][0]["entries"][0]["window_start"] == 1719392400000
    assert api.get("/docs").status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "bad"),
    [
        ("/metrics", {}, "event_type"),
        ("/metrics", {"event_type": "Click!"}, "event_type"),
        ("/metrics", {"event_type": "x" * 65}, "event_type"),
        ("/metrics/realtime", {"event_type": "click", "window_size": "30"}, "window_size"),
        ("/metrics/realtime", {"event_type": "click", "window_size": "0s"}, "window_size"),
        ("/metrics/realtime", {"event_type": "click", "window_size": "30 s"}, "window_size"),
        ("/metrics/realtime", {"event_type": "click", "limit": "0"}, "limit"),
        ("/metrics/realtime", {"event_type": "click", "limit": "1001"}, "limit"),
        ("/metrics/realtime", {"event_type": "click", "limit": "ten"}, "limit"),
        ("/metrics/history", {"event_type": "click", "start_time": "yesterday"}, "start_time"),
        ("/metrics/history", {"event_type": "click", "start_time": "1719392400"}, "start_time"),
        ("/metrics/history", {"event_type": "click", "end_time": "2023-02-29T00:00:00Z"}, "end_time"),
        ("/metrics/history", {"event_type": "click", "end_time": "2024-13-01T00:00:00Z"}, "end_time"),
        (
            "/metrics/history",
            {"event_type": "click", "start_time": "2024-06-26T10:00:00Z", "end_time": "2024-06-26T09:00:00Z"},
            "end_time",
        ),
        ("/metrics/history", {"event_type": "click", "limit": "-5"}, "limit"),
    ],
)
def test_bad_parameters_get_422_naming_the_parameter(
    api: ApiServer, path: str, params: dict[str, str], bad: str
) -> None:
    response = api.get(path, **params)

    assert response.status_code == 422
    body = response.json()
    assert [item["loc"] for item in body["detail"]] == [["query", bad]]
    assert body["message"].startswith(f"invalid parameter {bad}: ")


def test_root_redirects_to_the_dashboard(api: ApiServer) -> None:
    response = httpx.get(api.base_url + "/", follow_redirects=False, timeout=5)

    assert response.status_code in (302, 307)
    assert response.headers["location"] == "/static/index.html"
    page = httpx.get(api.base_url + "/static/index.html", timeout=5)
    assert page.status_code == 200 and '<div id="app"' in page.text


def test_the_ledger_of_skipped_records_sums_the_minutes_asked_for(api: ApiServer, redis_client: redis.Redis) -> None:
    now = now_ms()
    counts = [(now, SkippedCount("late", "click", 5)), (now - 60_000, SkippedCount("late", "click", 7)),
              (now, SkippedCount("bad_json", None, 2)), (now - 20 * 60_000, SkippedCount("late", "click", 100))]
    for counted_at, skipped in counts:
        script_keys, args = count_skipped_call(api.keys, counted_at, skipped)
        redis_client.eval(COUNT_SKIPPED_LUA, len(script_keys), *script_keys, *map(str, args))

    body = api.get("/metrics/skipped", since="5m").json()
    assert body["total"] == 14
    assert body["entries"] == [{"reason": "late", "event_type": "click", "count": 12},
                               {"reason": "bad_json", "event_type": None, "count": 2}]
    assert api.get("/metrics/skipped", since="1h").json()["total"] == 114
    assert api.get("/metrics/skipped").json()["since"] == "5m"
    for bad in ("3d", "abc", "100h", ""):
        response = api.get("/metrics/skipped", since=bad)
        assert response.status_code == 422, bad
        assert "since" in response.json()["message"]


def test_a_breakdown_adds_one_series_per_value_wherever_its_windows_are(
    api: ApiServer, redis_client: redis.Redis, infra: Infra, event_type: str
) -> None:
    def by(country: str, start_ms: int, count: int) -> WindowMetrics:
        return make_window(event_type, start_ms, count=count).model_copy(
            update={"breakdown": "country", "breakdown_value": country})

    synced = [by("DE", BASE_MS, 5), by("FR", BASE_MS, 2), by("(none)", BASE_MS + 10_000, 1)]
    unsynced = [by("DE", BASE_MS + 10_000, 7), make_window(event_type, BASE_MS + 10_000, count=8)]
    insert_history(infra.postgres_dsn, api.schema, [*synced, make_window(event_type, BASE_MS, count=7)])
    upsert_windows(redis_client, api.keys, unsynced)

    for path in ("/metrics", "/metrics/history"):
        body = api.get(path, event_type=event_type, breakdown="country").json()
        assert starts(body) == [BASE_MS + 10_000, BASE_MS], "the type's own windows as without a breakdown"
        assert body["breakdown"] == "country"
        assert [(series["value"], [e["count"] for e in series["entries"]]) for series in body["series"]] == [
            ("DE", [7, 5]), ("FR", [2]), ("(none)", [1])]
    realtime = api.get("/metrics/realtime", event_type=event_type, breakdown="country").json()
    assert [(series["value"], len(series["entries"])) for series in realtime["series"]] == [("DE", 1)]
    assert "series" not in api.get("/metrics", event_type=event_type).json()
    assert api.get("/metrics", event_type=event_type, breakdown="plan").json()["series"] == []
    bad = api.get("/metrics/history", event_type=event_type, breakdown="Country!")
    assert bad.status_code == 422 and "breakdown" in bad.json()["message"]
