"""The local stack heals itself: every component killed with SIGKILL while events flow comes back by itself,
and afterwards PostgreSQL holds exactly the windows of every acknowledged event.

It runs a private stack (its own run folder, every port a free one, Flink's internal ones included), never
the shared one: killing that would break every other test using it. One stack, the kills in sequence, each
followed by a bounded wait for recovery, then one comparison with the oracle and `down`.

Events get timestamps 30 s ahead of the wall clock. A client retries an event until it is acknowledged,
and the heartbeats stamp the wall clock: an event stuck in retries for less than 30 s + the watermark delay
can therefore never be late, so every acknowledged event must be counted. The traffic is light enough (about
15 events/s over five event types) for every window to hold fewer than 200 events, below which the job's
percentiles are exact (tests/oracle.py): every field of every window is compared exactly.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Producer

from contracts.events import HEARTBEAT_FIELD, Event, now_ms
from contracts.windows import parse_window_specs
from flink_service.cluster import FlinkCluster
from flink_service.heartbeat import send_heartbeats
from harness.infra import REPO_ROOT, free_port
from harness.kafka import read_topic
from harness.stores import fetch_rows
from harness.waiting import wait_until
from localstack.component import Component
from localstack.graph import components
from localstack.settings import StackSettings
from localstack.supervisor import Supervisor
from tests.oracle import expected_windows

pytestmark = [pytest.mark.flink, pytest.mark.timeout(1500)]

AHEAD_MS = 30_000
EVENT_TYPES = ("click", "view", "buy", "search", "share")
# The order of the kills, each program with the component it belongs to.
VICTIMS = {"taskmanager": "flink", "jobmanager": "flink", "kafka": "kafka", "redis": "redis", "postgres": "postgres",
           "track": "track", "api": "api", "sync": "sync", "heartbeat": "heartbeat", "job": "job"}
# Stated times: a killed program is back and its component healthy within BACK_S; the Flink job has completed a
# checkpoint again (it processes events) within PROCESSING_S of the kill. Measured on a loaded 2-core machine.
BACK_S = 90
PROCESSING_S = 240


def orphaned_python_workers(folder: Path) -> list[int]:
    """PyFlink workers that worked in `folder` and whose parent is gone (adopted by init)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (entry.name.isdigit() and (entry / "cwd").readlink() == folder.resolve()
                    and "pyflink" in (entry / "cmdline").read_text()
                    and (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == "1"):
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def process_start(pid: int) -> str | None:
    """When the process started (clock ticks after boot, /proc/PID/stat), None when no such process runs."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


@dataclass
class PrivateStack:
    env: dict[str, str]
    settings: StackSettings
    supervisor: Supervisor
    # Every process supervisord ran, by pid, with its start time: a pid alone may name another process later.
    seen: dict[int, str] = field(default_factory=dict)

    def stack(self, *args: str, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "localstack.stack", *args], cwd=REPO_ROOT, env=self.env,
                              capture_output=True, text=True, timeout=timeout_s)

    def component(self, name: str) -> Component:
        [found] = [c for c in components(self.settings) if c.name == name]
        return found

    def pids(self) -> dict[str, int]:
        found = {name: self.supervisor.pid(name) for name in VICTIMS}
        self.seen.update({pid: started for pid in found.values() if pid and (started := process_start(pid))})
        return {name: pid for name, pid in found.items() if pid}

    def all_healthy(self) -> bool:
        return all(c.safe_healthy() for c in components(self.settings) if c.name != "loadgen")

    def checkpointed_since(self, wall_s: float) -> bool:
        """Whether the metrics job has completed a checkpoint since `wall_s` (so it processes again)."""
        cluster = FlinkCluster(f"http://localhost:{self.settings.flink_ui_port}")
        try:
            for job in cluster.running_jobs("event-metrics"):
                latest = cluster.get_json(f"/jobs/{job.job_id}/checkpoints").get("latest") or {}
                if (latest.get("completed") or {}).get("latest_ack_timestamp", 0) / 1000 > wall_s:
                    return True
        except OSError:  # the JobManager is restarting, or has not set the job up yet (it answers 500 then)
            pass
        return False


@pytest.fixture
def private_stack() -> Iterator[PrivateStack]:
    # Outside pytest's basetemp, whose permissions concurrent sessions reset (PostgreSQL runs as `postgres`).
    run_dir = Path(tempfile.mkdtemp(prefix="stack-heal-"))
    kafka_port = free_port()
    ports = {name: str(free_port()) for name in (
        "KAFKA_CONTROLLER_PORT", "REDIS_PORT", "POSTGRES_PORT", "FLINK_UI_PORT", "FLINK_RPC_PORT", "TRACK_PORT",
        "API_PORT", "SYNC_METRICS_PORT")}
    env = {
        **os.environ, **ports, "RUN_DIR": str(run_dir), "KAFKA_BOOTSTRAP_SERVERS": f"localhost:{kafka_port}",
        "FLINK_REST_URL": f"http://localhost:{ports['FLINK_UI_PORT']}", "LOADGEN_RATE": "0",
        "FLINK_TASK_SLOTS": "1", "FLINK_TASKMANAGER_MEMORY": "1536m", "KAFKA_HEAP": "384m",
        "FLINK_CHECKPOINT_INTERVAL_S": "2", "HEARTBEAT_INTERVAL_S": "1", "SYNC_INTERVAL_S": "1", "SYNC_GRACE_S": "1",
        "REDIS_KEY_PREFIX": "metrics", "POSTGRES_SCHEMA": "public", "KAFKA_EVENTS_TOPIC": "events",
        "FLINK_JOB_NAME": "event-metrics", "WINDOW_SPECS": "30s/10s",
    }
    fields: dict[str, Any] = {name.lower(): int(port) for name, port in ports.items()}
    settings = StackSettings(run_dir=run_dir, kafka_bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"], **fields)
    stack = PrivateStack(env, settings, Supervisor(run_dir))
    try:
        started = stack.stack("up", "app")
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        stack.pids()
        yield stack
    finally:
        stack.stack("down", timeout_s=300)
        shutil.rmtree(run_dir, ignore_errors=True)


@dataclass
class Client:
    """One sequential client: a batch of new events, sent until every one is acknowledged, then the next."""

    url: str
    acknowledged: list[Event] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def run(self) -> None:
        rng = random.Random(21)
        try:
            with httpx.Client(base_url=self.url, timeout=15) as http:
                while not self.stop.is_set():
                    batch = [Event(event_id=uuid.uuid4().hex, event_type=rng.choice(EVENT_TYPES),
                                   user_id=f"user-{rng.randrange(30)}", value=rng.randrange(400) * 0.25,
                                   timestamp=now_ms() + AHEAD_MS) for _ in range(4)]
                    self.send(http, batch)
                    self.stop.wait(0.25)
        except BaseException as error:
            self.error = error

    def send(self, http: httpx.Client, batch: list[Event]) -> None:
        pending, deadline = batch, time.monotonic() + 120
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} events not acknowledged within 120 s")
            try:
                response = http.post("/track/batch", json={"events": [e.model_dump() for e in pending]})
                results = response.json()["results"] if response.status_code in (202, 503) else None
            except (httpx.HTTPError, ValueError, KeyError):  # track is down or restarting
                results = None
            if results is None:
                time.sleep(0.5)
                continue
            accepted = {r["event_id"] for r in results if r["status"] == "accepted"}
            self.acknowledged += [e for e in pending if e.event_id in accepted]
            pending = [e for e in pending if e.event_id not in accepted]


def kill_and_wait(stack: PrivateStack, program: str, component: Component) -> tuple[float, float]:
    """SIGKILL the program; seconds until it is back and its component healthy, and until the whole stack is
    healthy and the job has completed a checkpoint since the kill."""
    old_pid = stack.pids()[program]
    killed_at, killed_wall = time.monotonic(), time.time()
    os.kill(old_pid, signal.SIGKILL)

    def back() -> bool:
        pid = stack.supervisor.pid(program)
        return bool(pid and pid != old_pid and component.safe_healthy())

    wait_until(back, BACK_S, f"{program} back after SIGKILL")
    back_s = time.monotonic() - killed_at
    wait_until(lambda: stack.all_healthy() and stack.checkpointed_since(killed_wall), PROCESSING_S,
               f"the whole stack healthy and the job checkpointing again after killing {program}")
    return back_s, time.monotonic() - killed_at


def test_every_component_killed_comes_back_and_no_acknowledged_event_is_lost(private_stack: PrivateStack) -> None:
    stack = private_stack
    client = Client(f"http://127.0.0.1:{stack.settings.track_port}")
    sender = threading.Thread(target=client.run)
    sender.start()
    figures: dict[str, tuple[float, float]] = {}
    try:
        wait_until(lambda: len(client.acknowledged) > 50, 60, "the first acknowledged events")
        for program, component_name in VICTIMS.items():
            figures[program] = kill_and_wait(stack, program, stack.component(component_name))
            assert client.error is None, client.error
        stack.pids()
    finally:
        client.stop.set()
        sender.join(180)
    assert client.error is None, client.error
    print("\nkilled with SIGKILL -> back and healthy / job processing again (s):")
    for program, (back_s, processing_s) in figures.items():
        print(f"  {program:11} {back_s:6.1f} {processing_s:6.1f}")

    status = stack.stack("status")
    assert status.returncode == 0, status.stdout
    for program, component_name in VICTIMS.items():
        [line] = [line for line in status.stdout.splitlines() if line.split()[0] == component_name]
        label = "" if program == component_name else f"{program} "
        assert re.search(rf"{label}(STARTING|RUNNING) pid \d+, [1-9]\d* restarts?\b", line), f"{program}: {line}"
    assert orphaned_python_workers(stack.component("flink").home) == [], "the killed TaskManager's Python workers"

    # Close every window: a heartbeat past the last event on every partition, then wait for the sync worker.
    producer = Producer({"bootstrap.servers": stack.settings.kafka_bootstrap_servers})
    last_ms = max(event.timestamp for event in client.acknowledged)
    send_heartbeats(producer, "events", last_ms + 60_000)
    del producer  # its client would otherwise log every reconnect attempt once `down` stops Kafka
    values = [json.loads(message.value() or b"") for message in read_topic(stack.settings.kafka_bootstrap_servers,
                                                                             "events")]
    in_topic = [Event.model_validate(value) for value in values if HEARTBEAT_FIELD not in value]
    assert {e.event_id for e in in_topic} == {e.event_id for e in client.acknowledged}, "lost or unacknowledged"
    duplicates = len(in_topic) - len({e.event_id for e in in_topic})
    print(f"{len(client.acknowledged)} events acknowledged; {duplicates} published twice (a retry after a crash)")
    expected = expected_windows(in_topic, parse_window_specs("30s/10s"))
    assert max(window.count for window in expected.values()) < 200, "windows too full for exact percentiles"

    def synced() -> bool:
        rows = fetch_rows(stack.settings.postgres_dsn, "public")
        return len(rows) >= len(expected)

    wait_until(synced, AHEAD_MS / 1000 + 120, f"{len(expected)} windows in PostgreSQL")
    rows = fetch_rows(stack.settings.postgres_dsn, "public")
    assert len(rows) == len({row.key for row in rows}), "a window stored twice"
    assert {row.key: row for row in rows} == expected

    seen = dict(stack.seen)
    down = stack.stack("down", timeout_s=300)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "job: newest savepoint" in down.stdout, "the job was not stopped with a savepoint"
    assert not stack.supervisor.answers(), "supervisord still runs"
    assert [pid for pid, started in seen.items() if process_start(pid) == started] == [], \
        "a process of the stack outlived `down`"
