"""Crash injection: the worker process dies at a named point of batch 2, then a fresh worker catches up.

20 closed windows in 4 keys, batches of 7: batch 1 = click:30s x5 + click:5m x2,
batch 2 = click:5m x3 + view:30s x4, batch 3 = view:30s x1 + view:5m x5.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Callable

import pytest
import redis

from contracts.redis_keys import RedisKeys, upsert_windows
from contracts.window_results import WindowMetrics
from harness.infra import Infra, free_port
from harness.services import ServiceProcess
from harness.stores import fetch_rows
from harness.waiting import wait_until
from sync_service.crash_points import CRASH_EXIT_CODE
from tests.sync_service.fixtures import assert_synced_exactly_once, closed_windows, open_windows, redis_windows

# (rows in PostgreSQL, closed windows left in Redis) when the process died at that point of batch 2.
STATE_AT_CRASH = {
    "after_read": (7, 13),  # batch 2 read, nothing written
    "mid_batch": (7, 13),  # batch 2 upserted but not committed: rolled back
    "after_commit": (14, 13),  # batch 2 committed, still in Redis: synced again, harmlessly
    "mid_delete": (14, 10),  # batch 2 committed, its first key's 3 members deleted
}


def scrape(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} not in the metrics"
    return float(match.group(1))


def wait_caught_up(
    client: redis.Redis, keys: RedisKeys, infra: Infra, schema: str, closed: list[WindowMetrics],
    still_open: list[WindowMetrics],
) -> None:
    wait_until(
        lambda: redis_windows(client, keys) == {w.to_json() for w in still_open}
        and len(fetch_rows(infra.postgres_dsn, schema)) == len(closed),
        30, "the worker to catch up",
    )


@pytest.mark.parametrize("point", list(STATE_AT_CRASH))
def test_crash_at_each_point_then_restart_syncs_every_window_exactly_once(
    point: str, sync_env: dict[str, str], start_worker: Callable[[dict[str, str]], ServiceProcess],
    infra: Infra, pg_schema: str, redis_client: redis.Redis, redis_keys: RedisKeys,
) -> None:
    closed = closed_windows(5)
    still_open = open_windows()
    upsert_windows(redis_client, redis_keys, closed + still_open)

    crashed = start_worker({**sync_env, "SYNC_CRASH_AT": f"{point}@2"})
    assert crashed.wait_exit(30) == CRASH_EXIT_CODE, crashed.log
    assert f"crash injected at {point} of batch 2" in crashed.log

    rows = fetch_rows(infra.postgres_dsn, pg_schema)
    left = redis_windows(redis_client, redis_keys) - {w.to_json() for w in still_open}
    assert (len(rows), len(left)) == STATE_AT_CRASH[point]
    assert {w.key for w in rows} | {WindowMetrics.from_json(m).key for m in left} == {w.key for w in closed}

    port = free_port()
    restarted = start_worker({**sync_env, "SYNC_METRICS_PORT": str(port)})
    wait_caught_up(redis_client, redis_keys, infra, pg_schema, closed, still_open)
    assert_synced_exactly_once(fetch_rows(infra.postgres_dsn, pg_schema), closed)
    wait_until(lambda: scrape(port, "sync_rows_synced_total") == len(left), 10, "the rows metric")
    assert scrape(port, "sync_lag_seconds") == 0

    assert restarted.terminate() == 0, restarted.log
    assert "sync worker stopped" in restarted.log
    assert re.search(r"cycle keys=4 batches=\d+ read=\d+ synced=\d+ .*duration_ms=\d+", restarted.log)
