"""The metrics job on a private topic, consumer group, Redis key prefix and job name, removed afterwards."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import redis
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from contracts.events import Event
from contracts.redis_keys import RedisKeys
from contracts.settings import to_env
from contracts.window_results import WindowMetrics
from flink_service.cluster import TERMINAL_STATES, FlinkCluster
from flink_service.heartbeat import send_heartbeats
from flink_service.settings import Settings
from flink_service.submit import submit
from harness.infra import local_flink, unique_name
from harness.kafka import create_topics, delete_groups, delete_topics
from harness.stores import delete_prefix, window_members
from harness.waiting import wait_until
from harness.windows import WindowKey


def tasks_running(cluster: FlinkCluster, job_id: str) -> bool:
    """Whether every task of the job runs (job RUNNING is not task RUNNING); starts a TaskManager when the
    cluster has none (PyFlink has crashed one while an earlier job was cancelled)."""
    if cluster.get_json("/overview")["taskmanagers"] == 0:
        local_flink().up()
    vertices = cluster.get_json(f"/jobs/{job_id}")["vertices"]
    return all(vertex["status"] == "RUNNING" for vertex in vertices)


@dataclass
class PrivateJob:
    settings: Settings
    admin: AdminClient
    redis_client: redis.Redis
    cluster: FlinkCluster
    producer: Producer
    job_id: str = ""
    other_groups: list[str] = field(default_factory=list)  # e.g. a reference consumer's, deleted on close

    @classmethod
    def create(cls, base: Settings, partitions: int, *, owner: str = "test", **overrides: Any) -> PrivateJob:
        """A fresh topic of `partitions` and settings naming it, a group, a prefix and a job of their own."""
        name = unique_name("job", owner)
        values = {**base.model_dump(), "kafka_events_topic": name, "kafka_late_topic": f"{name}-late",
                  "kafka_consumer_group": name, "redis_key_prefix": name, "flink_job_name": name, **overrides}
        settings = Settings(**values)
        admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
        create_topics(admin, [settings.kafka_events_topic], partitions)
        producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers, "enable.idempotence": True})
        client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
        return cls(settings, admin, client, FlinkCluster(settings.flink_rest_url), producer)

    @property
    def topic(self) -> str:
        return self.settings.kafka_events_topic

    @property
    def keys(self) -> RedisKeys:
        return RedisKeys(self.settings.redis_key_prefix)

    def submit(self) -> str:
        self.job_id = submit(self.settings, extra_env={**to_env(self.settings), **local_flink().client_env()})
        return self.job_id

    def wait_tasks_running(self, timeout_s: float = 180) -> None:
        wait_until(lambda: tasks_running(self.cluster, self.job_id), timeout_s, f"the tasks of job {self.job_id}")

    def produce(self, events: list[Event], extra_raw: list[bytes] | None = None) -> None:
        for event in events:
            self.producer.produce(self.topic, event.to_kafka_value(), key=event.user_id)
        for raw in extra_raw or []:
            self.producer.produce(self.topic, raw)
        if self.producer.flush(30):
            raise TimeoutError("records not acknowledged within 30 s")

    def heartbeat(self, timestamp_ms: int) -> None:
        send_heartbeats(self.producer, self.topic, timestamp_ms)

    def redis_windows(self) -> dict[WindowKey, WindowMetrics]:
        """Every window in Redis; fails on a second member for the same window."""
        windows: dict[WindowKey, WindowMetrics] = {}
        for member in window_members(self.redis_client, self.keys):
            window = WindowMetrics.from_json(member)
            if window.key in windows:
                raise AssertionError(f"window {window.key} stored twice")
            windows[window.key] = window
        return windows

    def redis_breakdown_windows(self) -> dict[tuple[str, str, int, str, str], WindowMetrics]:
        """Every breakdown window in Redis, by identity; fails on a second member for the same window."""
        windows: dict[tuple[str, str, int, str, str], WindowMetrics] = {}
        for member in window_members(self.redis_client, self.keys, breakdowns=True):
            window = WindowMetrics.from_json(member)
            if window.identity in windows:
                raise AssertionError(f"window {window.identity} stored twice")
            windows[window.identity] = window
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

    def running_since_ms(self) -> int:
        """When the JobManager switched the job to RUNNING (epoch ms, same machine clock)."""
        return int(self.cluster.job(self.job_id)["timestamps"]["RUNNING"])

    def other_running_jobs(self) -> int:
        return sum(1 for job in self.cluster.jobs() if job.state == "RUNNING" and job.job_id != self.job_id)

    def close(self) -> None:
        """Cancel the job, then delete its topic, groups and keys."""
        if self.job_id:
            with contextlib.suppress(Exception):  # already gone is fine
                self.cluster.cancel(self.job_id)
                # A source still polling would have the broker auto-create the topic again after its deletion.
                self.cluster.wait_state(self.job_id, TERMINAL_STATES, 60)
        delete_topics(self.admin, [self.topic, self.settings.kafka_late_topic])  # submit created the late one
        delete_groups(self.admin, [self.settings.kafka_consumer_group, *self.other_groups])
        delete_prefix(self.redis_client, self.keys.prefix)
        self.redis_client.close()
