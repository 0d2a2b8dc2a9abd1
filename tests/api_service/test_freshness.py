"""Issue 14 point 8: /health and the API's Prometheus metrics say when events arrive but windows do not follow,
read from what the Flink job's writer and track_service's admission leave in Redis."""

from __future__ import annotations

from collections.abc import Callable

import redis

from contracts.events import now_ms
from contracts.redis_keys import upsert_windows
from harness.windows import make_window as window
from tests.api_service.fixtures import ApiServer

MAX_AGE_S = 30


def metric(api: ApiServer, name: str) -> float:
    for line in api.get("/internal/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /internal/metrics")


def test_freshness_is_ok_while_windows_follow_the_events(
    start_api: Callable[..., ApiServer], redis_client: redis.Redis
) -> None:
    api = start_api(API_FRESHNESS_MAX_S=str(MAX_AGE_S))
    now = now_ms()
    upsert_windows(redis_client, api.keys, [window("click", now // 10_000 * 10_000 - 30_000)])  # written now
    redis_client.zadd(api.keys.admitted_event_types, {"click": now})  # as track_service does on accepting

    body = api.health()

    assert (body["status"], body["problems"]) == ("ok", [])
    freshness = body["freshness"]
    assert isinstance(freshness, dict)
    assert freshness["last_window_written_s_ago"] < 10 and freshness["last_event_s_ago"] < 10
    assert 0 <= freshness["watermark_lag_s"] < 30
    assert metric(api, "api_freshness_degraded") == 0 and metric(api, "api_redis_up") == 1
    assert metric(api, "api_watermark_lag_seconds") < 30


def test_degraded_when_events_arrive_and_no_window_follows(
    start_api: Callable[..., ApiServer], redis_client: redis.Redis
) -> None:
    api = start_api(API_FRESHNESS_MAX_S=str(MAX_AGE_S))
    now = now_ms()
    # The job's last write was two minutes ago, for a window that ended then.
    stopped = now - 120_000
    upsert_windows(redis_client, api.keys, [window("click", stopped // 10_000 * 10_000 - 30_000)])
    redis_client.hset(api.keys.writer_status, "last_write_ms", str(stopped))
    redis_client.zadd(api.keys.admitted_event_types, {"click": now - 2_000})

    body = api.get("/health")

    assert body.status_code == 200
    assert body.json()["status"] == "degraded"
    problems = body.json()["problems"]
    assert len(problems) == 2 and "no window was written for 120 s" in problems[0]
    assert "the newest window ended" in problems[1]
    assert metric(api, "api_freshness_degraded") == 1
    assert 119 <= metric(api, "api_last_window_written_age_seconds") < 130

    # Once events stop arriving, old windows are what is expected: not degraded.
    redis_client.zadd(api.keys.admitted_event_types, {"click": now - 100_000})
    assert api.health()["status"] == "ok"


def test_freshness_is_unknown_before_anything_was_written(api: ApiServer) -> None:
    body = api.health()

    assert body["status"] == "ok"
    assert body["freshness"] == {"last_window_written_s_ago": None, "watermark_lag_s": None,
                                 "last_event_s_ago": None, "max_age_s": 60.0}
    assert "api_last_window_written_age_seconds NaN" in api.get("/internal/metrics").text
