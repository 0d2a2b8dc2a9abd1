"""Pure logic: key parsing, the closed bound, batch planning, crash specs, backoff and config errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from contracts.redis_keys import RedisKeys, WindowKey, parse_window_key
from contracts.waiting import backoff_delay_s
from harness.infra import REPO_ROOT
from harness.windows import make_window
from sync_service.closing import plan_batch
from sync_service.crash_points import parse_crash_at

KEYS = RedisKeys(prefix="p")


def test_parse_window_key() -> None:
    key = parse_window_key("p:windows:page.view-x:5m", KEYS)
    assert key == WindowKey("p:windows:page.view-x:5m", "page.view-x", "5m", 300_000)
    assert parse_window_key("p:registry:event_types", KEYS) is None
    assert parse_window_key("other:windows:click:30s", KEYS) is None
    assert parse_window_key("p:windows:click:30 seconds", KEYS) is None
    assert parse_window_key("p:windows:a:b:30s", KEYS) is None


def test_closed_bound_includes_exactly_the_windows_past_end_plus_grace() -> None:
    key = WindowKey("p:windows:click:30s", "click", "30s", 30_000)
    now, grace = 1_000_000, 5_000
    bound = key.last_closed_start_ms(now, grace)
    assert bound + 30_000 + grace == now  # closed exactly at end + grace <= now
    assert key.lag_s(bound, now, grace) == 0
    assert key.lag_s(bound - 10_000, now, grace) == 10
    assert key.lag_s(bound + 10_000, now, grace) == 0


def test_plan_batch_skips_invalid_and_duplicate_members() -> None:
    first = make_window("click", 0, count=2)
    same_window = make_window("click", 0, count=3)
    other = make_window("click", 10_000)
    batch = plan_batch([("k", first.to_json()), ("k", "not json"), ("k", '{"a":1}'),
                        ("k2", same_window.to_json()), ("k", other.to_json())])
    assert [row[2] for row in batch.rows] == [0, 10_000]
    assert batch.rows[0] == ("click", "30s", 0, 30_000, 2, first.total_value, first.unique_users,
                             None, None, None, "", "")
    assert batch.members_by_key == {"k": [first.to_json(), other.to_json()]}
    assert batch.invalid == [("k", "not json"), ("k", '{"a":1}')]
    assert batch.duplicates == 1
    assert batch.read == 5


def test_parse_crash_at() -> None:
    assert parse_crash_at("") is None
    assert parse_crash_at("after_commit") == ("after_commit", 1)
    assert parse_crash_at("mid_batch@3") == ("mid_batch", 3)
    for bad in ("after_lunch", "mid_batch@0", "mid_batch@x"):
        with pytest.raises(ValueError):
            parse_crash_at(bad)


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_delay_s(n, 0.5, 3) for n in range(1, 6)] == [0.5, 1, 2, 3, 3]
    assert backoff_delay_s(10_000, 0.5, 3) == 3


def test_bad_config_stops_with_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sync_service"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30,
        env={**os.environ, "SYNC_BATCH_SIZE": "0", "SYNC_CRASH_AT": "after_lunch"},
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SYNC_BATCH_SIZE" in lines[0] and "SYNC_CRASH_AT" in lines[0]
