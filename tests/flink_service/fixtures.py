"""Fixtures for the metrics-job tests: a job per test on the local Flink cluster, on its own topic,
consumer group and Redis key prefix, removed afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from flink_service.settings import Settings
from harness.flink_job import PrivateJob
from harness.infra import Infra


@pytest.fixture
def start_job(infra: Infra, flink_rest_url: str) -> Iterator[Callable[..., PrivateJob]]:
    """`start_job(window_specs="30s/10s", partitions=2, **settings)` submits a fresh job and waits for its tasks."""
    jobs: list[PrivateJob] = []
    base = Settings(kafka_bootstrap_servers=infra.kafka_bootstrap, redis_host=infra.redis_host,
                    redis_port=infra.redis_port, redis_password=infra.redis_password, flink_rest_url=flink_rest_url)

    def start(window_specs: str = "30s/10s", partitions: int = 2, **overrides: Any) -> PrivateJob:
        job = PrivateJob.create(base, partitions, window_specs=window_specs, **overrides)
        jobs.append(job)
        job.submit()
        job.wait_tasks_running()
        return job

    yield start
    for job in jobs:
        job.close()
