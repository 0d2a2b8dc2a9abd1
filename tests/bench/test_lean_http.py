"""The benchmark's lean HTTP client counts exactly what the service accepted (real service, real Kafka)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bench.bench_ingest import Pregenerated
from bench.lean_http import LeanHttpSender
from harness.infra import Infra
from harness.kafka import end_offsets
from tests.track_service.fixtures import RunningService
from tools.loadgen import EventGenerator, Traffic, run_load


@pytest.mark.parametrize("single", [False, True])
def test_lean_client_tallies_what_the_service_accepted(infra: Infra, service: RunningService, single: bool) -> None:
    generator = EventGenerator(Traffic(seed=3, start_ms=1_719_392_400_000, rate=1000))
    events: list[dict[str, Any]] = [generator.next_event() for _ in range(60 if single else 1200)]
    events[7] = {"event_type": "Not A Slug", "user_id": "u"}  # rejected, counted as such

    sender = LeanHttpSender(service.url, single=single)
    load = run_load(Pregenerated(events), sender, rate=0, batch_size=1 if single else 500, count=len(events),
                    duration_s=None, concurrency=4)
    tally = asyncio.run(load)
    assert (tally.accepted, tally.rejected, tally.failed) == (len(events) - 1, 1, 0)
    assert len(tally.latencies_s) == (len(events) if single else 3)
    assert end_offsets(infra.kafka_bootstrap, service.settings.kafka_events_topic) == len(events) - 1
