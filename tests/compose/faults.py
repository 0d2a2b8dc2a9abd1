"""Faults under load on the scaled Compose stack: the traffic, the WebSocket watchers, the kills and the verdict.

Shared by the fault test (tests/compose/test_scale.py, in CI's Compose tier) and the chaos run
(`make chaos`, tests/compose/chaos.py). Everything goes through the gateway, as a client's would:
events to /track and /track/batch with the write key, the API and /live-metrics from its replicas.

The verdict compares with the oracle (tests/oracle.py) every event acknowledged with 202: each counted
once in the windows of /metrics/history and of PostgreSQL (none missing, none doubled, none extra).
Windows stay under 200 events per event type, where the job's percentiles are exact like the oracle's.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from confluent_kafka.admin import AdminClient
from websockets.sync.client import connect

from contracts.events import Event, now_ms
from contracts.redis_keys import RedisKeys
from contracts.window_results import WindowMetrics
from contracts.windows import WindowSpec, parse_window_specs
from harness.compose_stack import ComposeStack, container_address, docker
from harness.waiting import wait_until
from harness.windows import WindowKey
from tests.e2e.pipeline_check import api_windows, as_request, history_range, pg_windows, redis_windows
from tests.oracle import expected_windows

# The stack's live tier: its default WINDOW_SPECS also has 1m, 5m and 1h tiers (docs/history.md), left out here.
SPECS: list[WindowSpec] = parse_window_specs("30s/10s")
LABELS = {spec.label: spec.size_ms for spec in SPECS}
KEYS = RedisKeys("metrics")
JOB_NAME = "event-metrics"
# The job's percentiles are exact up to this many events in a window (contracts.window_results).
EXACT_PERCENTILES_UP_TO = 200
BROKERS = ("kafka", "kafka-2", "kafka-3")


def event_types(tag: str, count: int) -> tuple[str, ...]:
    suffix = uuid.uuid4().hex[:6]
    return tuple(f"{tag}{n}-{suffix}" for n in range(count))


@dataclass
class TrafficReport:
    sent: int = 0  # distinct events sent (each once, however often it was resent)
    acknowledged: int = 0  # events answered 202 (on the first attempt or a resend)
    requests: int = 0
    refused: Counter[int] = field(default_factory=Counter)  # status of each refused request; 0 = no answer
    duplicates: int = 0  # acknowledged as duplicates: an earlier attempt had published them
    longest_refusal_s: float = 0.0  # the longest a request was refused before acknowledged

    def summary(self) -> str:
        refused = ", ".join(f"{'no answer' if status == 0 else status}: {n}"
                            for status, n in sorted(self.refused.items()))
        return (f"{self.sent} events sent, {self.acknowledged} acknowledged (202) in {self.requests} requests; "
                f"refused requests {sum(self.refused.values())} ({refused or 'none'}), resent until acknowledged, "
                f"longest {self.longest_refusal_s:.1f} s; {self.duplicates} acknowledged as duplicates of an "
                "earlier attempt")


class Traffic:
    """A steady stream of events through the gateway, in a thread: `rate` events/s in batches (every tenth
    request one event to /track), stamped `lead_ms` ahead of the wall clock.

    One request in flight at a time, and a refused request is resent (same events, same event_ids) until it
    is acknowledged before anything newer is sent: a resent event is then never behind newer events in its
    partition, so the watermark cannot pass it (it is not late). A request refused for `give_up_s` stops the
    traffic with an error: its events would be behind the watermark by then."""

    def __init__(self, url: str, headers: dict[str, str], types: tuple[str, ...], *, rate: float,
                 batch_size: int = 8, lead_ms: int = 30_000, give_up_s: float = 25, seed: int = 1) -> None:
        self.url, self.headers, self.types = url, headers, types
        self.interval_s = batch_size / rate
        self.batch_size, self.lead_ms, self.give_up_s = batch_size, lead_ms, give_up_s
        self.rng = random.Random(seed)
        self.report = TrafficReport()
        self.accepted: list[Event] = []
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)

    def start(self) -> Traffic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.give_up_s + 60)
        assert not self._thread.is_alive(), "the traffic thread did not stop"
        assert self.error is None, self.error

    def wait_acknowledged(self, more: int, timeout_s: float, what: str) -> None:
        """Until `more` further events are acknowledged: the stack takes traffic (again)."""
        target = self.report.acknowledged + more
        wait_until(lambda: self.report.acknowledged >= target or self.error, timeout_s,
                   f"{more} more events acknowledged {what}", interval_s=0.5)
        assert self.error is None, self.error

    def _events(self, count: int) -> list[Event]:
        stamp = now_ms() + self.lead_ms
        return [Event(event_id=f"f-{uuid.uuid4().hex[:16]}", event_type=self.rng.choice(self.types),
                      user_id=f"user-{self.rng.randrange(40)}", value=self.rng.randrange(400) * 0.25,
                      timestamp=stamp + n, properties={}) for n in range(count)]

    def _run(self) -> None:
        try:
            # Longer than track_service's delivery timeout in the scaled stack (30 s): a client that gives up
            # first and resends could publish an event twice.
            with httpx.Client(base_url=self.url, timeout=45, headers=self.headers) as client:
                due = time.monotonic()
                while not self._stop.is_set():
                    single = self.report.requests % 10 == 9
                    self._deliver(client, self._events(1 if single else self.batch_size), single)
                    due = max(due + self.interval_s, time.monotonic() - 1)
                    self._stop.wait(max(0.0, due - time.monotonic()))
        except Exception as error:  # reported by stop() and wait_acknowledged()
            self.error = f"traffic failed: {error!r}"

    def _deliver(self, client: httpx.Client, events: list[Event], single: bool) -> None:
        self.report.sent += len(events)
        first_refused: float | None = None
        while True:
            self.report.requests += 1
            status, body = self._post(client, events, single)
            if status == 202:
                self.report.acknowledged += len(events)
                self.report.duplicates += sum(bool(item.get("duplicate")) for item in body)
                self.accepted.extend(events)
                if first_refused is not None:
                    self.report.longest_refusal_s = max(self.report.longest_refusal_s,
                                                        time.monotonic() - first_refused)
                return
            if status not in (0, 502, 503, 504):
                raise AssertionError(f"a request was answered {status}: {body}")
            self.report.refused[status] += 1
            first_refused = first_refused or time.monotonic()
            if time.monotonic() - first_refused > self.give_up_s:
                raise AssertionError(f"a request was refused for {self.give_up_s:.0f} s ({dict(self.report.refused)})")
            time.sleep(0.5)

    @staticmethod
    def _post(client: httpx.Client, events: list[Event], single: bool) -> tuple[int, list[dict[str, Any]]]:
        try:
            if single:
                response = client.post("/track", json=as_request(events[0]))
            else:
                response = client.post("/track/batch", json={"events": [as_request(e) for e in events]})
        except httpx.TransportError:
            return 0, []
        try:
            body = response.json()
        except ValueError:
            return response.status_code, []
        items = body.get("results", [body]) if isinstance(body, dict) else []
        return response.status_code, items


class LiveWatcher:
    """A WebSocket client of /live-metrics through the gateway, collecting every window with its arrival time;
    `served_by` is the API replica the gateway chose (its address, from the X-Served-By header)."""

    def __init__(self, url: str) -> None:
        self._socket = connect(url, open_timeout=20)
        served_by = self._socket.response.headers.get("X-Served-By") if self._socket.response else None
        assert served_by, "the gateway names the replica that answered"
        self.served_by: str = served_by.rsplit(":", 1)[0]
        self.arrivals: list[tuple[float, WindowMetrics]] = []
        self.closed_at: float | None = None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for raw in self._socket:
                self.arrivals.append((time.monotonic(), WindowMetrics.model_validate(json.loads(raw))))
        except Exception:  # the connection ended: recorded below
            pass
        self.closed_at = time.monotonic()

    def windows(self, types: Iterable[str], after: float = 0.0) -> list[WindowMetrics]:
        wanted = set(types)
        return [window for at, window in list(self.arrivals) if at > after and window.event_type in wanted]

    def close(self) -> None:
        self._socket.close()
        self._thread.join(5)


@dataclass
class Timeline:
    """What was done to the stack, and when (seconds since the traffic started)."""

    started: float = field(default_factory=time.monotonic)
    entries: list[tuple[float, str]] = field(default_factory=list)

    def note(self, what: str) -> None:
        self.entries.append((time.monotonic() - self.started, what))
        print(f"[faults] {self.entries[-1][0]:6.1f} s  {what}", flush=True)

    def text(self) -> str:
        return "\n".join(f"{at:6.1f} s  {what}" for at, what in self.entries)


# ---- The stack's parts -----------------------------------------------------------------------------


def kill(container_id: str) -> None:
    """SIGKILL, as a crash: nothing is flushed or closed cleanly (no restart: `docker kill` is a stop)."""
    docker("kill", container_id)


def start(container_id: str) -> None:
    docker("start", container_id)


def brokers_bootstrap(stack: ComposeStack) -> str:
    """Every broker's host listener: the cluster answers while any one of them does."""
    ports = ("KAFKA_HOST_PORT", "KAFKA_2_HOST_PORT", "KAFKA_3_HOST_PORT")
    return ",".join(f"127.0.0.1:{stack.ports[name]}" for name in ports)


def partitions_fully_replicated(stack: ComposeStack, topic: str = "events") -> bool:
    """Every partition of `topic` has its 3 replicas in sync again."""
    admin = AdminClient({"bootstrap.servers": brokers_bootstrap(stack), "log_level": 3})
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    return bool(partitions) and all(len(p.isrs) == 3 for p in partitions.values())


def topic_settings(stack: ComposeStack, topic: str = "events") -> tuple[int, int, str]:
    """(partitions, replicas of each, min.insync.replicas) of `topic`."""
    from confluent_kafka.admin import ConfigResource  # type: ignore[attr-defined]

    admin = AdminClient({"bootstrap.servers": brokers_bootstrap(stack), "log_level": 3})
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    replicas = {len(p.replicas) for p in partitions.values()}
    assert len(replicas) == 1, f"partitions of {topic} with different replica counts: {replicas}"
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    config = admin.describe_configs([resource])[resource].result(timeout=10)
    return len(partitions), replicas.pop(), str(config["min.insync.replicas"].value)


def job_running(stack: ComposeStack) -> bool:
    """The job runs with every subtask running (not restarting, not waiting for slots)."""
    cluster = stack.flink()
    jobs = cluster.running_jobs(JOB_NAME)
    if len(jobs) != 1:
        return False
    job = cluster.job(jobs[0].job_id)
    return job["state"] == "RUNNING" and all(vertex["status"] == "RUNNING" for vertex in job["vertices"])


def job_restarts(stack: ComposeStack) -> int:
    """How often the job was restarted after a failure (Flink's numRestarts)."""
    cluster = stack.flink()
    job_id = cluster.running_jobs(JOB_NAME)[0].job_id
    metrics = cluster.get_json(f"/jobs/{job_id}/metrics?get=numRestarts")
    return int(float(metrics[0]["value"])) if metrics else 0


def slots_in_use(stack: ComposeStack) -> dict[str, int]:
    """TaskManager container -> how many of its slots run tasks (0: idle, e.g. back after a loss while the job
    kept running on the other)."""
    by_address = {container_address(cid): cid for cid in stack.container_ids("taskmanager")}
    return {by_address[tm["id"].split(":", 1)[0]]: tm["slotsNumber"] - tm["freeSlots"]
            for tm in stack.flink().get_json("/taskmanagers")["taskmanagers"]
            if tm["id"].split(":", 1)[0] in by_address}


def busiest_taskmanager(stack: ComposeStack) -> str:
    """The container of the TaskManager running the most of the job's slots."""
    in_use = slots_in_use(stack)
    return max(in_use, key=lambda cid: in_use[cid])


def healthy(stack: ComposeStack) -> bool:
    return not stack.problems()


def wait_healthy(stack: ComposeStack, what: str, timeout_s: float = 240) -> None:
    wait_until(lambda: healthy(stack), timeout_s, f"every container healthy {what}", interval_s=2)


# ---- The verdict -----------------------------------------------------------------------------------


@dataclass
class WindowDiff:
    missing: list[WindowKey]
    extra: list[WindowKey]
    differing: list[tuple[WindowMetrics, WindowMetrics]]  # (found, expected)

    @property
    def mismatches(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.differing)

    def describe(self, where: str) -> str:
        return (f"{where}: {len(self.missing)} windows missing, {len(self.extra)} extra, {len(self.differing)} "
                f"differ; e.g. missing {self.missing[:3]}, extra {self.extra[:3]}, differ {self.differing[:2]}")


def diff_windows(found: dict[WindowKey, WindowMetrics], expected: dict[WindowKey, WindowMetrics]) -> WindowDiff:
    return WindowDiff(
        missing=sorted(expected.keys() - found.keys()),
        extra=sorted(found.keys() - expected.keys()),
        differing=[(found[key], expected[key]) for key in sorted(expected.keys() & found.keys())
                   if found[key] != expected[key]],
    )


def history_windows(stack: ComposeStack, events: list[Event], types: tuple[str, ...]) -> dict[WindowKey, Any]:
    with httpx.Client(base_url=stack.url("API_PORT"), timeout=30) as api:
        return api_windows(api, "/metrics/history", LABELS, types, **history_range(events))


@dataclass
class Verdict:
    expected_windows: int
    history: WindowDiff
    postgres: WindowDiff

    @property
    def mismatches(self) -> int:
        return self.history.mismatches + self.postgres.mismatches


def verify_windows(stack: ComposeStack, accepted: list[Event], types: tuple[str, ...],
                   timeout_s: float = 240) -> Verdict:
    """Wait until /metrics/history equals the oracle of the acknowledged events (or the deadline), then until
    the sync worker moved every window to PostgreSQL; compare both."""
    expected = expected_windows(accepted, SPECS)
    fullest = max(window.count for window in expected.values())
    assert fullest <= EXACT_PERCENTILES_UP_TO, f"a window of {fullest} events: its percentiles are estimates"
    deadline = time.monotonic() + timeout_s
    found = history_windows(stack, accepted, types)
    while found != expected and time.monotonic() < deadline:
        time.sleep(2)
        found = history_windows(stack, accepted, types)
    history = diff_windows(found, expected)
    redis_client = stack.redis_client()
    wait_until(lambda: not redis_windows(redis_client, KEYS, types, LABELS) or time.monotonic() > deadline + 60,
               timeout_s + 90, "Redis drained by the sync worker", interval_s=2)
    postgres = diff_windows(pg_windows(stack.postgres_dsn, "public", types, LABELS), expected)
    return Verdict(len(expected), history, postgres)


def live_windows_match(watcher: LiveWatcher, expected: dict[WindowKey, WindowMetrics],
                       types: tuple[str, ...]) -> WindowDiff:
    """What one WebSocket client received against the oracle (a window sent twice has the same values)."""
    received = [window for window in watcher.windows(types) if window.window_size in LABELS]
    latest = {window.key: window for window in received}
    wrong = [(window, expected[window.key]) for window in received
             if window.key in expected and window != expected[window.key]]
    diff = diff_windows(latest, expected)
    return WindowDiff(diff.missing, diff.extra, wrong)


def watchers_by_replica(watchers: list[LiveWatcher]) -> dict[str, list[LiveWatcher]]:
    grouped: dict[str, list[LiveWatcher]] = {}
    for watcher in watchers:
        grouped.setdefault(watcher.served_by, []).append(watcher)
    return grouped


def replica_of(stack: ComposeStack, service: str, address: str) -> str:
    """The container of `service` at `address`."""
    for container_id in stack.container_ids(service):
        if container_address(container_id) == address:
            return container_id
    raise AssertionError(f"no {service} replica at {address}")


def wait_for(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    wait_until(condition, timeout_s, what, interval_s=1)
