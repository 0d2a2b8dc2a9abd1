"""The history tiers end to end (issue 17): the job with the default WINDOW_SPECS (the live 30s/10s windows and the
1m, 5m and 1h tumbling tiers) on the real Flink cluster, Kafka and Redis, then the sync worker into the real
PostgreSQL and the API: every tier equals the oracle for the same events, everywhere, unique users included, and
`resolution=auto` answers from the right one."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from contracts.events import now_ms
from contracts.tiers import DEFAULT_WINDOW_SPECS
from contracts.windows import parse_window_specs
from harness.flink_job import PrivateJob
from harness.infra import Infra
from harness.stores import fetch_rows
from sync_service.settings import Settings as SyncSettings
from sync_service.worker import SyncWorker
from tests.api_service.fixtures import ApiServer
from tests.e2e.pipeline_check import api_windows, by_key
from tests.oracle import expected_windows, generate_events

pytestmark = pytest.mark.flink
HOUR_MS = 3_600_000
EVENT_TYPES = ("click", "view", "purchase")


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


async def sync_everything(settings: SyncSettings) -> None:
    worker = SyncWorker(settings)
    try:
        while (await worker.run_cycle()).read:
            pass
    finally:
        await worker.close()


def test_every_tier_matches_the_oracle_from_the_job_to_the_api(
    start_job: Callable[..., PrivateJob], infra: Infra, pg_schema: str, start_api: Callable[..., ApiServer]
) -> None:
    specs = parse_window_specs(DEFAULT_WINDOW_SPECS)
    job = start_job(window_specs=DEFAULT_WINDOW_SPECS)
    # Ten minutes around an hour boundary two hours ago: two 1h windows, two 5m ones, ten 1m ones.
    hour = now_ms() // HOUR_MS * HOUR_MS - HOUR_MS
    base = hour - 5 * 60_000
    events = generate_events(random.Random(17), start_ms=base, duration_ms=10 * 60_000, count=450,
                             event_types=EVENT_TYPES)
    job.produce(events)
    job.heartbeat(hour + HOUR_MS + 10_000)  # past the end of the second hour's window, and its watermark delay

    expected = expected_windows(events, specs)
    assert {label for _, label, _ in expected} == {"30s", "1m", "5m", "1h"}
    assert sum(1 for _, label, _ in expected if label == "1h") == 2 * len(EVENT_TYPES)
    found = job.wait_for_windows(len(expected))
    assert found == expected, "a tier differs from the oracle in Redis"

    values: dict[str, Any] = {
        **{name.lower(): value for name, value in infra.service_env().items()}, "redis_key_prefix": job.keys.prefix,
        "postgres_schema": pg_schema, "sync_grace_s": 0, "sync_metrics_port": 0, "sync_retention_interval_s": 0}
    settings = SyncSettings(**values)
    asyncio.run(sync_everything(settings))
    assert job.redis_windows() == {}
    rows = fetch_rows(infra.postgres_dsn, pg_schema)
    assert len(rows) == len(expected) and by_key(rows) == expected, "a tier differs from the oracle in PostgreSQL"

    api = start_api(REDIS_KEY_PREFIX=job.keys.prefix, POSTGRES_SCHEMA=pg_schema)
    labels = {spec.label: spec.size_ms for spec in specs}
    span = {"start_time": iso(hour - HOUR_MS), "end_time": iso(hour + HOUR_MS)}
    with httpx.Client(base_url=api.base_url, timeout=30) as client:
        assert api_windows(client, "/metrics/history", labels, EVENT_TYPES, **span) == expected
        for label in labels:
            answer = client.get("/metrics/history", params={"event_type": "click", "resolution": label, **span})
            assert answer.json()["resolution"]["window_size"] == label
            assert {entry["window_start"] for entry in answer.json()["entries"]} == {
                start for event_type, size, start in expected if (event_type, size) == ("click", label)}
        # A day up to the end of the events' second hour: 8,640 30s windows, 1,440 1m ones, 288 of 5m.
        day = client.get("/metrics/history", params={
            "event_type": "view", "resolution": "auto", "start_time": iso(hour + HOUR_MS - 24 * HOUR_MS),
            "end_time": iso(hour + HOUR_MS)}).json()
    assert day["resolution"] == {"window_size": "5m", "slide": "5m", "points": 288, "whole": True}
    five = {key: window for key, window in expected.items() if key[:2] == ("view", "5m")}
    assert {entry["window_start"]: (entry["count"], entry["unique_users"]) for entry in day["entries"]} == {
        key[2]: (window.count, window.unique_users) for key, window in five.items()}
