"""Fixtures for the end-to-end tests: the product's services as real processes on free ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.services import ServiceProcess, stop_all


@pytest.fixture
def run_service(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """`run_service("track_service", env, health_url)` starts `python -m MODULE` and waits for health."""
    started: list[ServiceProcess] = []

    def start(module: str, env: dict[str, str], health_url: str | None = None) -> ServiceProcess:
        service = ServiceProcess.start(module, env, tmp_path / f"{module}.log")
        started.append(service)
        if health_url:
            service.wait_healthy(health_url, 60)
        return service

    yield start
    stop_all(started)
