"""The Compose stack, built here and brought up once with `docker compose up -d --wait`, checked as a
user would: every container healthy and non-root, the end-to-end oracle check (the one tests/e2e runs
against local processes), a TaskManager killed, Kafka restarted under traffic, and `down` then `up`.

Run by the Compose tier (`make test-compose`, scripts/compose_tier.sh), which gets the engine and
builds the images first; skipped elsewhere. The checks share one stack, in this order; each uses
event types of its own, so they see only their own windows.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition

from contracts.events import Event, now_ms
from contracts.redis_keys import RedisKeys
from contracts.windows import parse_window_specs
from flink_service.cluster import FlinkCluster
from harness.compose_stack import ONE_SHOT_SERVICES, WRITE_KEY_PATH, ComposeStack, brought_up
from harness.infra import unique_name
from harness.stores import run_sql
from harness.waiting import wait_until
from harness.windows import WindowKey
from tests.e2e.pipeline_check import (
    Pipeline,
    api_windows,
    as_request,
    check_against_oracle,
    history_range,
    pg_windows,
    redis_windows,
    send_events,
)
from tests.oracle import expected_windows, generate_events

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(os.environ.get("COMPOSE_TIER") != "1",
                       reason="the Compose tier runs these: `make test-compose` (scripts/compose_tier.sh)"),
]

# The stack's live tier and its 1m tier. Its default WINDOW_SPECS also has 5m and 1h tumbling tiers
# (docs/history.md), which close too late to wait for here and are left out of the comparisons
# (tests/flink_service/test_tiers.py checks every tier).
SPECS = parse_window_specs("30s/10s,1m/1m")
LABELS = {spec.label: spec.size_ms for spec in SPECS}
JOB_NAME = "event-metrics"
KEYS = RedisKeys("metrics")
# The stack's heartbeats keep its watermark at the wall clock minus 5 s: the checks' events are
# stamped ahead of it (none late), and their windows close as the wall clock passes them.
WINDOWS_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    project = os.environ.get("COMPOSE_PROJECT_NAME", f"ra-tier-{os.getpid()}")
    with brought_up(ComposeStack(project), "the stack") as stack:
        yield stack


@pytest.fixture(scope="module")
def first_history() -> dict[str, Any]:
    """What the oracle check left in the history, for the `down`/`up` check to find again."""
    return {}


def event_types(check: str) -> tuple[str, ...]:
    tag = uuid.uuid4().hex[:6]
    return tuple(f"{kind}-{check}-{tag}" for kind in ("click", "view", "purchase"))


def upcoming_events(types: tuple[str, ...], *, lead_ms: int = 10_000, duration_ms: int = 20_000,
                    count: int = 300) -> list[Event]:
    # A seed of its own per check: the same seed would give the same event_ids, which track_service
    # rightly takes for retries of events it already published (and does not publish again).
    seed = int(uuid.uuid4().hex[:8], 16)
    return generate_events(random.Random(seed), start_ms=now_ms() + lead_ms, duration_ms=duration_ms,
                           count=count, event_types=types)


def running_job(cluster: FlinkCluster) -> str:
    jobs = cluster.running_jobs(JOB_NAME)
    assert len(jobs) == 1, f"want one running {JOB_NAME} job, found {jobs}"
    return jobs[0].job_id


def job_tasks_running(cluster: FlinkCluster, job_id: str) -> bool:
    job = cluster.job(job_id)
    return job["state"] == "RUNNING" and all(vertex["status"] == "RUNNING" for vertex in job["vertices"])


def history(stack: ComposeStack, events: list[Event], types: tuple[str, ...]) -> dict[WindowKey, Any]:
    with httpx.Client(base_url=stack.url("API_PORT"), timeout=30) as api:
        return api_windows(api, "/metrics/history", LABELS, types, **history_range(events))


def wait_history_equals(stack: ComposeStack, events: list[Event], types: tuple[str, ...]) -> None:
    """/metrics/history (PostgreSQL plus closed windows still in Redis) comes to equal the oracle."""
    expected = expected_windows(events, SPECS)
    deadline = time.monotonic() + WINDOWS_TIMEOUT_S
    found = history(stack, events, types)
    while found != expected and time.monotonic() < deadline:
        time.sleep(1)
        found = history(stack, events, types)
    missing, extra = expected.keys() - found.keys(), found.keys() - expected.keys()
    differ = sorted(key for key in expected.keys() & found.keys() if expected[key] != found[key])
    assert found == expected, (
        f"/metrics/history after {WINDOWS_TIMEOUT_S} s: {len(missing)} windows missing, {len(extra)} extra, "
        f"{len(differ)} differ; e.g. {[(found[k], expected[k]) for k in differ[:2]]}, missing {sorted(missing)[:3]}")
    redis_windows(stack.redis_client(), KEYS, types, LABELS)  # and no window twice in Redis


def wait_healthy(stack: ComposeStack) -> None:
    wait_until(lambda: not stack.problems(), 180, "every service healthy again", interval_s=2)


def process_uid(container_id: str) -> int:
    """The real uid of the container's main process, read on the host (no user namespace here)."""
    pid = subprocess.run(["docker", "inspect", "--format", "{{.State.Pid}}", container_id],
                         capture_output=True, text=True, check=True).stdout.strip()
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])


def test_every_container_is_healthy_and_runs_as_a_non_root_user(stack: ComposeStack) -> None:
    assert stack.problems() == {}
    containers = stack.containers()
    services = {row["Service"] for row in containers}
    assert services == {"kafka", "kafka-init", "redis", "postgres", "jobmanager", "taskmanager", "flink-submit",
                        "track_service", "flink-heartbeat", "api_service", "sync_service", "keys-init"}
    for row in containers:
        if row["Service"] in ONE_SHOT_SERVICES:  # exited: the user its image runs as
            user = subprocess.run(["docker", "inspect", "--format", "{{.Config.User}}", row["ID"]],
                                  capture_output=True, text=True, check=True).stdout.strip()
            assert user not in ("", "root", "0"), f"{row['Service']} runs as root"
        else:
            assert process_uid(row["ID"]) != 0, f"{row['Service']}'s process runs as root"


def test_ingestion_needs_the_write_key_printed_once(stack: ComposeStack) -> None:
    """Write keys are on by default: keys-init made one (no TRACK_API_KEYS here) and printed it once."""
    key = stack.write_key()
    assert len(key) >= 32
    everything = stack.run("logs", "--no-color").stdout
    assert everything.count(key) == 1 and f"X-API-Key: {key}" in stack.logs("keys-init", lines=None), (
        "the key is printed once, by keys-init")
    event = {"event_type": f"keyed-{uuid.uuid4().hex[:6]}", "user_id": "user-1", "value": 1.0}
    with httpx.Client(base_url=stack.url("TRACK_PORT"), timeout=30) as track:
        for headers in ({}, {"X-API-Key": "not-the-key"}, {"Authorization": "Bearer not-the-key"}):
            refused = track.post("/track", json=event, headers=headers)
            assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer", refused.text
        for headers in (stack.write_headers, {"Authorization": f"Bearer {key}"}):
            assert track.post("/track", json=event, headers=headers).status_code == 202


def test_pipeline_matches_the_oracle_everywhere(stack: ComposeStack, first_history: dict[str, Any]) -> None:
    types = event_types("oracle")
    # Every window stays in Redis, for /metrics/realtime, until the check starts the sync worker.
    stack.run("stop", "sync_service")
    redis_client = stack.redis_client()
    pipeline = Pipeline(
        track_url=stack.url("TRACK_PORT"),
        api_url=stack.url("API_PORT"),
        postgres_dsn=stack.postgres_dsn,
        pg_schema="public",
        redis_windows=lambda: redis_windows(redis_client, KEYS, types, LABELS),
        close_windows=lambda: None,  # the stack's flink-heartbeat does
        start_sync=lambda: stack.run("start", "sync_service"),
        windows_timeout_s=WINDOWS_TIMEOUT_S,
        track_headers=stack.write_headers,
    )
    events = upcoming_events(types)
    check_against_oracle(pipeline, events, SPECS, types)
    first_history.update(types=types, events=events, windows=expected_windows(events, SPECS))
    wait_healthy(stack)


def test_replay_in_the_stack_restores_deleted_history(stack: ComposeStack, first_history: dict[str, Any]) -> None:
    """The documented command (docs/docker.md, "Replay") rebuilds the oracle check's windows after they were
    deleted from PostgreSQL; a second run changes nothing."""
    assert first_history, "runs after test_pipeline_matches_the_oracle_everywhere"
    types, windows = first_history["types"], first_history["windows"]
    starts = [key[2] for key in windows]

    def iso(epoch_ms: int) -> str:
        return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

    replay = ("run", "--rm", "--no-deps", "flink-submit", "python", "-m", "flink_service.replay",
              "--from", iso(min(starts)), "--to", iso(max(starts) + 1000), "--window-specs", "30s/10s,1m/1m")
    quoted = ",".join(f"'{name}'" for name in types)
    sizes = ",".join(f"'{label}'" for label in LABELS)
    run_sql(stack.postgres_dsn, f"DELETE FROM metrics WHERE event_type IN ({quoted}) AND window_size IN ({sizes})")
    assert pg_windows(stack.postgres_dsn, "public", types, LABELS) == {}
    started = time.monotonic()
    done = stack.run(*replay, timeout_s=600)
    print(f"\n[compose-tier] replay in {time.monotonic() - started:.0f} s: {done.stdout.strip()[-400:]}")
    assert "windows written" in done.stdout, done.stdout + done.stderr
    assert pg_windows(stack.postgres_dsn, "public", types, LABELS) == windows
    stack.run(*replay, timeout_s=600)
    assert pg_windows(stack.postgres_dsn, "public", types, LABELS) == windows
    assert history(stack, first_history["events"], types) == windows


def test_a_killed_taskmanager_recovers_from_its_checkpoint(stack: ComposeStack) -> None:
    cluster = stack.flink()
    job_id = running_job(cluster)
    types = event_types("tmkill")
    # A minute ahead: the heartbeats go on while the TaskManager is gone, and the second half, sent
    # after the kill, must still be ahead of the watermark they move.
    events = upcoming_events(types, lead_ms=60_000)
    half = len(events) // 2
    send_events(stack.url("TRACK_PORT"), events[:half], headers=stack.write_headers)
    sent_ms = now_ms()

    def checkpointed_after_send() -> bool:
        completed = (cluster.get_json(f"/jobs/{job_id}/checkpoints").get("latest") or {}).get("completed") or {}
        return int(completed.get("trigger_timestamp", 0)) > sent_ms

    wait_until(checkpointed_after_send, 60, "a checkpoint after the first half was sent", interval_s=1)
    stack.run("kill", "taskmanager")
    send_events(stack.url("TRACK_PORT"), events[half:], headers=stack.write_headers)  # Kafka keeps them meanwhile
    stack.run("start", "taskmanager")
    wait_until(lambda: job_tasks_running(cluster, job_id) and cluster.restored_from(job_id), 240,
               "the job running again, restored from a checkpoint", interval_s=1)
    restored = cluster.get_json(f"/jobs/{job_id}/checkpoints")["latest"]["restored"]
    assert restored["is_savepoint"] is False and "/chk-" in restored["external_path"], restored
    wait_history_equals(stack, events, types)
    wait_healthy(stack)


def test_a_kafka_restart_under_traffic_loses_no_accepted_event(stack: ComposeStack) -> None:
    types = event_types("kafka")
    rng = random.Random(7)
    accepted: list[Event] = []
    refused: list[int] = []
    stop = threading.Event()

    def traffic() -> None:
        """A batch of 10 events a second, stamped 30 s ahead, until stopped; a refused batch is sent again,
        same event_ids. (Windows stay under 200 events per type, where the job's percentiles are exact like
        the oracle's.)"""
        with httpx.Client(base_url=stack.url("TRACK_PORT"), timeout=15, headers=stack.write_headers) as track:
            index = 0
            while not stop.is_set():
                stamp = now_ms() + 30_000
                batch = [Event(event_id=f"k{index + n}-{uuid.uuid4().hex[:8]}", event_type=rng.choice(types),
                               user_id=f"user-{rng.randrange(20)}", value=rng.randrange(400) * 0.25,
                               timestamp=stamp + n, properties={}) for n in range(10)]
                index += len(batch)
                give_up = time.monotonic() + 120
                while True:
                    try:
                        response = track.post("/track/batch", json={"events": [as_request(e) for e in batch]})
                        if response.status_code == 202:
                            accepted.extend(batch)
                            break
                        refused.append(response.status_code)
                    except httpx.TransportError:
                        refused.append(0)
                    assert time.monotonic() < give_up, "track_service refused a batch for two minutes"
                    time.sleep(1)
                time.sleep(1)

    sender = threading.Thread(target=traffic)
    sender.start()
    try:
        # Traffic before, during and after the restart: a count of batches, not a time, so a slow machine
        # cannot leave the check with too few events.
        wait_until(lambda: len(accepted) >= 50 or not sender.is_alive(), 120, "50 events accepted before")
        started = time.monotonic()
        stack.run("restart", "kafka")
        before = len(accepted)
        print(f"\n[compose-tier] kafka restarted in {time.monotonic() - started:.0f} s under traffic")
        wait_until(lambda: len(accepted) >= before + 150 or not sender.is_alive(), 240,
                   "150 more events accepted after the restart")
    finally:
        stop.set()
        sender.join(240)
    assert not sender.is_alive()
    print(f"[compose-tier] {len(accepted)} events accepted, {len(refused)} refused attempts (retried)")
    assert len(accepted) >= 200, f"only {len(accepted)} events accepted: the traffic thread failed"

    in_topic = topic_event_ids(stack.kafka_bootstrap, "events", set(types))
    missing = {event.event_id for event in accepted} - in_topic
    assert not missing, f"{len(missing)} accepted events are not in Kafka"
    wait_history_equals(stack, accepted, types)
    wait_healthy(stack)


def topic_event_ids(bootstrap: str, topic: str, types: set[str]) -> set[str]:
    """The event_ids of these event types in the whole topic."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("group"),
                         "auto.offset.reset": "earliest", "enable.auto.commit": False, "log_level": 3})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        found: set[str] = set()
        done: set[int] = {p for p, end in ends.items() if end == 0}
        deadline = time.monotonic() + 60
        while len(done) < len(ends) and time.monotonic() < deadline:
            for message in consumer.consume(500, timeout=1):
                value, partition, offset = message.value(), message.partition(), message.offset()
                if message.error() or value is None or partition is None or offset is None:
                    continue
                record = json.loads(value)
                if record.get("event_type") in types:
                    found.add(record["event_id"])
                if offset + 1 >= ends[partition]:
                    done.add(partition)
        assert len(done) == len(ends), "could not read the events topic to its end"
        return found
    finally:
        consumer.close()


def test_down_then_up_keeps_history_and_resumes_from_the_savepoint(
    stack: ComposeStack, first_history: dict[str, Any]
) -> None:
    assert first_history, "runs after test_pipeline_matches_the_oracle_everywhere"
    types = event_types("restart")
    # Windows still open when the job stops: only the savepoint's state can complete them.
    events = upcoming_events(types, lead_ms=20_000)
    send_events(stack.url("TRACK_PORT"), events, headers=stack.write_headers)
    stopped = stack.run("run", "--rm", "--no-deps", "flink-submit", "python", "-m", "flink_service.submit",
                        "--stop")
    print(f"\n[compose-tier] stop with savepoint: {(stopped.stdout + stopped.stderr).strip()[-300:]}")
    key = stack.write_key()
    stack.run("down")
    started = time.monotonic()
    stack.up()
    print(f"[compose-tier] up again: {time.monotonic() - started:.0f} s")
    # The write key stays (its volume does), and is not printed again.
    assert stack.run("exec", "-T", "track_service", "cat", WRITE_KEY_PATH).stdout.strip() == key
    assert key not in stack.logs("keys-init", lines=None) and "kept in" in stack.logs("keys-init")

    cluster = stack.flink()
    job_id = running_job(cluster)
    restored = wait_until(lambda: cluster.restored_from(job_id), 60, "the job's restore information")
    assert "/opt/flink/checkpoints/savepoints/event-metrics/savepoint-" in restored, restored
    # History from before `down` is all there.
    old_types, old_events = first_history["types"], first_history["events"]
    assert pg_windows(stack.postgres_dsn, "public", old_types, LABELS) == first_history["windows"]
    assert history(stack, old_events, old_types) == first_history["windows"]
    wait_history_equals(stack, events, types)


def test_both_compose_spellings(stack: ComposeStack, tmp_path: Path) -> None:
    """Compose v2's binary run as `docker-compose` drives the stack as is; Debian's docker-compose 1.29
    (where installed) accepts the file."""
    plugin = os.environ.get("COMPOSE_V2_BINARY")
    if plugin:
        (tmp_path / "docker-compose").symlink_to(plugin)
        done = subprocess.run(["docker-compose", *stack.command("ps", "--format", "json")[2:]],
                              env={**stack.env, "PATH": f"{tmp_path}:{stack.env['PATH']}"},
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "api_service" in done.stdout and "running" in done.stdout
    legacy = shutil.which("docker-compose", path="/usr/bin")
    if legacy:
        done = subprocess.run([legacy, *stack.command("config", "-q")[2:]], env=stack.env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    if not plugin and not legacy:
        pytest.skip("neither Compose v2's binary (COMPOSE_V2_BINARY) nor Debian's docker-compose here")
