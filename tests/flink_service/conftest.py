"""Fixtures for the metrics-job tests: a job per test on the local Flink cluster, on its own topic,
consumer group and Redis key prefix, cancelled afterwards."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import redis
from confluent_kafka import Producer

from contracts.events import Event
from contracts.redis_keys import RedisKeys
from contracts.settings import to_env
from contracts.window_results import WindowMetrics
from flink_service.cluster import FlinkCluster
from flink_service.heartbeat import send_heartbeats
from flink_service.settings import Settings
from flink_service.submit import submit
from tests.conftest import Infra, heal_flink, unique_name, wait_until
from tests.oracle import WindowKey


@dataclass
class RunningJob:
    job_id: str
    settings: Settings
    cluster: FlinkCluster
    producer: Producer
    redis_client: redis.Redis

    @property
    def keys(self) -> RedisKeys:
        return RedisKeys(self.settings.redis_key_prefix)

    def produce(self, events: list[Event], extra_raw: list[bytes] | None = None) -> None:
        for event in events:
            self.producer.produce(self.settings.kafka_events_topic, event.to_kafka_value(), key=event.user_id)
        for raw in extra_raw or []:
            self.producer.produce(self.settings.kafka_events_topic, raw)
        assert self.producer.flush(30) == 0

    def heartbeat(self, timestamp_ms: int) -> None:
        send_heartbeats(self.producer, self.settings.kafka_events_topic, timestamp_ms)

    def redis_windows(self) -> dict[WindowKey, WindowMetrics]:
        """Every window in Redis; fails on a second member for the same window."""
        windows: dict[WindowKey, WindowMetrics] = {}
        for key in self.redis_client.scan_iter(match=self.keys.windows("*", "*")):
            members: list[str] = self.redis_client.zrange(key, 0, -1)  # type: ignore[assignment]
            for member in members:
                window = WindowMetrics.from_json(member)
                assert window.key not in windows, f"window {window.key} stored twice"
                windows[window.key] = window
        return windows

    def wait_for_windows(self, expected: int, timeout_s: float = 90) -> dict[WindowKey, WindowMetrics]:
        def enough() -> dict[WindowKey, WindowMetrics] | None:
            windows = self.redis_windows()
            return windows if len(windows) >= expected else None

        found: dict[WindowKey, WindowMetrics] = wait_until(enough, timeout_s, f"{expected} windows in Redis")
        return found

    def metric_total(self, name: str, contains: str = "") -> int:
        """Sum of the job metrics whose id ends with `name` (and contains `contains`), all subtasks."""
        total = 0
        for vertex in self.cluster.job(self.job_id)["vertices"]:
            base = f"/jobs/{self.job_id}/vertices/{vertex['id']}/subtasks/metrics"
            available = [m["id"] for m in self.cluster.get_json(base)]
            wanted = [metric for metric in available if metric.endswith(name) and contains in metric]
            if wanted:
                values = self.cluster.get_json(f"{base}?get={','.join(wanted)}&agg=sum")
                total += sum(int(float(value["sum"])) for value in values)
        return total


@dataclass
class PubSubCollector:
    """Collects every message on the updates channel in a background thread."""

    client: redis.Redis
    channel: str
    messages: list[WindowMetrics] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        pubsub = self.client.pubsub()  # type: ignore[no-untyped-call]
        pubsub.subscribe(self.channel)
        wait_until(lambda: pubsub.get_message(timeout=0.5), 10, "pub/sub subscription")

        def run() -> None:
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message and message["type"] == "message":
                    self.messages.append(WindowMetrics.model_validate(json.loads(message["data"])))
            pubsub.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def tasks_running(cluster: FlinkCluster, job_id: str) -> bool:
    """Whether every task of the job runs; starts a TaskManager when the cluster has none (PyFlink has
    crashed one while an earlier test's job was cancelled, after that test's fixture had checked)."""
    if cluster.get_json("/overview")["taskmanagers"] == 0:
        heal_flink()
    vertices = cluster.get_json(f"/jobs/{job_id}")["vertices"]
    return all(vertex["status"] == "RUNNING" for vertex in vertices)


@pytest.fixture
def start_job(
    infra: Infra,
    make_topic: Callable[..., str],
    redis_client: redis.Redis,
    redis_keys: RedisKeys,
    flink_rest_url: str,
    flink_env: dict[str, str],
) -> Iterator[Callable[..., RunningJob]]:
    """`start_job(window_specs="30s/10s", partitions=2, **settings)` submits a fresh job."""
    jobs: list[RunningJob] = []
    cluster = FlinkCluster(flink_rest_url)

    def start(window_specs: str = "30s/10s", partitions: int = 2, **overrides: object) -> RunningJob:
        settings = Settings(
            kafka_bootstrap_servers=infra.kafka_bootstrap,
            kafka_events_topic=make_topic(partitions=partitions),
            kafka_consumer_group=unique_name("group"),
            redis_host=infra.redis_host,
            redis_port=infra.redis_port,
            redis_password=infra.redis_password,
            redis_key_prefix=redis_keys.prefix,
            flink_rest_url=flink_rest_url,
            flink_job_name=unique_name("job"),
            window_specs=window_specs,
            **overrides,  # type: ignore[arg-type]
        )
        job_id = submit(settings, extra_env={**to_env(settings), **flink_env})
        wait_until(lambda: tasks_running(cluster, job_id), 180, f"the tasks of job {job_id} running")
        producer = Producer({"bootstrap.servers": infra.kafka_bootstrap, "enable.idempotence": True})
        job = RunningJob(job_id, settings, cluster, producer, redis_client)
        jobs.append(job)
        return job

    yield start
    for job in jobs:
        with contextlib.suppress(Exception):  # already gone is fine
            cluster.cancel(job.job_id)
