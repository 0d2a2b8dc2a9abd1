"""The scaled Compose stack (docker-compose.yml + docker-compose.scale.yml), brought up once and checked
under faults: 3 Kafka brokers, 2 TaskManagers, 2 track_service and 2 api_service replicas behind the
gateway.

While events flow at a steady rate through the gateway, one broker is killed and later restarted, a
TaskManager is killed, then one track_service and one api_service replica. Then every event acknowledged
with 202 is counted exactly once in the windows of /metrics/history and of PostgreSQL (the oracle), and
the WebSocket clients of the surviving API replica kept receiving, every window. The figures (sent,
acknowledged, refused, mismatches) are printed.

Run by the Compose tier (`make test-compose`, `make test-scale`: scripts/compose_tier.sh), after the
single-node checks; skipped elsewhere.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import httpx
import pytest

from harness.compose_stack import ComposeStack, brought_up
from tests.compose import faults
from tests.compose.faults import LiveWatcher, Timeline, Traffic
from tests.oracle import expected_windows

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(os.environ.get("COMPOSE_TIER") != "1",
                       reason="the Compose tier runs these: `make test-compose` (scripts/compose_tier.sh)"),
]

RATE = 40  # events/s through the gateway; over 8 event types, 150 events in a 30 s window of one type
TYPES = 8
WATCHERS = 4  # WebSocket clients; the gateway spreads them over both API replicas


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    project = os.environ.get("COMPOSE_PROJECT_NAME", f"ra-tier-{os.getpid()}") + "-scale"
    with brought_up(ComposeStack.scaled(project), "the scaled stack") as stack:
        yield stack


def test_every_part_runs_replicated(stack: ComposeStack) -> None:
    assert stack.problems() == {}
    counts = {service: len(stack.container_ids(service)) for service in
              ("kafka", "kafka-2", "kafka-3", "taskmanager", "track_service", "api_service", "gateway")}
    assert counts == {"kafka": 1, "kafka-2": 1, "kafka-3": 1, "taskmanager": 2, "track_service": 2,
                      "api_service": 2, "gateway": 1}
    assert faults.topic_settings(stack) == (3, 3, "2"), "events: 3 partitions, 3 replicas, min.insync.replicas=2"
    assert faults.topic_settings(stack, "events-late")[1:] == (3, "2")
    # The job: one subtask per partition, spread over both TaskManagers.
    faults.wait_for(lambda: faults.job_running(stack), 120, "the job running")
    cluster = stack.flink()
    job = cluster.job(cluster.running_jobs(faults.JOB_NAME)[0].job_id)
    assert {vertex["parallelism"] for vertex in job["vertices"]} == {3}
    taskmanagers = cluster.get_json("/taskmanagers")["taskmanagers"]
    assert len(taskmanagers) == 2 and all(tm["slotsNumber"] - tm["freeSlots"] >= 1 for tm in taskmanagers)
    # The gateway spreads requests over both replicas of each service.
    for port in ("TRACK_PORT", "API_PORT"):
        with httpx.Client(base_url=stack.url(port), timeout=10) as client:
            served = {client.get("/health").headers["X-Served-By"] for _ in range(6)}
        assert len(served) == 2, f"{port}: answered by {served}"


def test_faults_under_load_lose_and_double_nothing(stack: ComposeStack, capsys: pytest.CaptureFixture[str]) -> None:
    types = faults.event_types("scale", TYPES)
    ws_url = stack.url("API_PORT").replace("http://", "ws://", 1) + "/live-metrics"
    watchers = [LiveWatcher(ws_url) for _ in range(WATCHERS)]
    by_replica = faults.watchers_by_replica(watchers)
    assert len(by_replica) == 2, f"the gateway put every WebSocket client on one replica: {list(by_replica)}"
    traffic = Traffic(stack.url("TRACK_PORT"), stack.write_headers, types, rate=RATE, seed=18).start()
    timeline = Timeline()
    restarts_before = faults.job_restarts(stack)
    killed: list[str] = []
    try:
        traffic.wait_acknowledged(400, 60, "at the start")

        # (a) A broker dies; the other two hold every partition (min.insync.replicas=2). Later it comes back.
        broker = stack.container_ids("kafka-2")[0]
        faults.kill(broker)
        timeline.note("killed broker kafka-2")
        traffic.wait_acknowledged(600, 90, "with a broker down")
        faults.start(broker)
        timeline.note("restarted broker kafka-2")
        faults.wait_for(lambda: faults.partitions_fully_replicated(stack), 120, "kafka-2 back in every ISR")
        timeline.note("kafka-2 back in sync")

        # (b) A TaskManager dies; the job restarts from its checkpoint on the survivor's free slots.
        taskmanager = faults.busiest_taskmanager(stack)
        faults.kill(taskmanager)
        killed.append(taskmanager)
        timeline.note("killed the busiest TaskManager")
        faults.wait_for(lambda: faults.job_restarts(stack) > restarts_before, 120, "the job restarted")
        faults.wait_for(lambda: faults.job_running(stack), 180, "the job running on the surviving TaskManager")
        timeline.note("job running again on one TaskManager")
        traffic.wait_acknowledged(400, 60, "after the TaskManager loss")

        # (c) A track_service replica dies: the gateway sends its requests (and retries) to the other.
        track = stack.container_ids("track_service")[0]
        faults.kill(track)
        killed.append(track)
        timeline.note("killed track_service replica 1")
        traffic.wait_acknowledged(400, 60, "with one track_service replica")

        # (d) An API replica dies; the WebSocket clients of the other keep receiving.
        doomed, surviving = sorted(by_replica)
        api = faults.replica_of(stack, "api_service", doomed)
        faults.kill(api)
        killed.append(api)
        killed_at = time.monotonic()
        timeline.note(f"killed the api_service replica at {doomed}")
        survivors = by_replica[surviving]
        faults.wait_for(lambda: all(w.windows(types, after=killed_at) for w in survivors), 60,
                        "a window for every surviving WebSocket client after the kill")
        traffic.wait_acknowledged(200, 60, "with one api_service replica")
    finally:
        traffic.stop()
        timeline.note("traffic stopped")
    for container_id in killed:
        faults.start(container_id)
    faults.wait_healthy(stack, "after the restarts")
    timeline.note("every killed container restarted and healthy")

    verdict = faults.verify_windows(stack, traffic.accepted, types)
    expected = expected_windows(traffic.accepted, faults.SPECS)
    live = [faults.live_windows_match(watcher, expected, types) for watcher in survivors]
    with capsys.disabled():
        print(f"\n[scale-faults] {traffic.report.summary()}\n"
              f"[scale-faults] {verdict.expected_windows} windows expected; mismatches: /metrics/history "
              f"{verdict.history.mismatches}, PostgreSQL {verdict.postgres.mismatches}, WebSocket clients of the "
              f"surviving replica {sum(diff.mismatches for diff in live)}; job restarts "
              f"{faults.job_restarts(stack) - restarts_before}\n{timeline.text()}")
    assert verdict.history.mismatches == 0, verdict.history.describe("/metrics/history")
    assert verdict.postgres.mismatches == 0, verdict.postgres.describe("PostgreSQL")
    for watcher, diff in zip(survivors, live, strict=True):
        assert watcher.closed_at is None, "a WebSocket client of the surviving replica was disconnected"
        assert diff.mismatches == 0, diff.describe(f"the WebSocket client on {watcher.served_by}")
    for watcher in watchers:
        watcher.close()
