"""The whole pipeline as a user sees it, checked window by window against the Python oracle, with
the product's services as local processes (tests/e2e/pipeline_check.py says what is checked; the
Compose tier runs the same check against the containers).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from contracts.events import MAX_ABS_VALUE, Event, now_ms
from contracts.windows import parse_window_specs
from harness.flink_job import PrivateJob
from harness.infra import Infra, free_port
from harness.services import ServiceProcess
from tests.e2e.pipeline_check import EVENT_TYPES, Pipeline, check_against_oracle
from tests.oracle import generate_events

pytestmark = pytest.mark.flink
EXTREME = "extreme"


def with_extreme_values(events: list[Event]) -> list[Event]:
    """Every tenth event followed by a twin of type `extreme` whose value is at the bound, +-1e15
    (contracts.events.MAX_ABS_VALUE; issue 14 point 1): accepted, and summed to finite totals on every output.
    Sums of whole multiples of 1e15 are exact in any order, so the oracle still compares them exactly."""
    mixed: list[Event] = []
    for index, event in enumerate(events):
        mixed.append(event)
        if index % 10 == 0:
            sign = 1 if index % 20 == 0 else -1
            mixed.append(event.model_copy(update={"event_id": f"x-{event.event_id}", "event_type": EXTREME,
                                                  "value": sign * MAX_ABS_VALUE}))
    return mixed


@pytest.mark.parametrize("window_specs", ["30s/10s", "30s/10s,1m/20s"])
def test_pipeline_matches_the_oracle_everywhere(
    window_specs: str,
    infra: Infra,
    pg_schema: str,
    start_job: Callable[..., PrivateJob],
    run_service: Callable[..., ServiceProcess],
) -> None:
    specs = parse_window_specs(window_specs)
    job = start_job(window_specs=window_specs, partitions=3)
    shared_env = {
        **infra.service_env(),
        "KAFKA_EVENTS_TOPIC": job.settings.kafka_events_topic,
        "REDIS_KEY_PREFIX": job.settings.redis_key_prefix,
        "POSTGRES_SCHEMA": pg_schema,
        "WINDOW_SPECS": window_specs,  # the API's and the sync worker's tiers are the job's specs
    }
    track_port, api_port, sync_port = free_port(), free_port(), free_port()
    run_service("track_service", {**shared_env, "TRACK_PORT": str(track_port)},
                f"http://127.0.0.1:{track_port}/health")
    run_service("api_service", {**shared_env, "API_PORT": str(api_port)}, f"http://127.0.0.1:{api_port}/health")

    now = now_ms()
    base = now - now % 60_000 - 600_000
    events = with_extreme_values(generate_events(random.Random(42), start_ms=base, duration_ms=90_000, count=600,
                                                 event_types=EVENT_TYPES))
    pipeline = Pipeline(
        track_url=f"http://127.0.0.1:{track_port}",
        api_url=f"http://127.0.0.1:{api_port}",
        postgres_dsn=infra.postgres_dsn,
        pg_schema=pg_schema,
        redis_windows=job.redis_windows,
        # The events are ten minutes old: one heartbeat far past them closes every window.
        close_windows=lambda: job.heartbeat(base + 300_000),
        start_sync=lambda: run_service(
            "sync_service", {**shared_env, "SYNC_METRICS_PORT": str(sync_port), "SYNC_INTERVAL_S": "0.5"},
            f"http://127.0.0.1:{sync_port}/metrics"),
    )
    check_against_oracle(pipeline, events, specs, (*EVENT_TYPES, EXTREME))
