"""Fixtures for the end-to-end tests: the product's services as real processes on free ports."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, wait_until
from tests.flink_service.conftest import start_job as start_job  # re-exported fixture


@dataclass
class ServiceProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture
def run_service(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """`run_service("track_service", env, health_url)` starts `python -m MODULE` and waits for health."""
    started: list[ServiceProcess] = []

    def start(module: str, env: dict[str, str], health_url: str | None = None) -> ServiceProcess:
        log_path = tmp_path / f"{module}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", module], cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, **env},
            )
        service = ServiceProcess(process, log_path)
        started.append(service)
        if health_url:
            def healthy() -> bool:
                assert process.poll() is None, f"{module} exited:\n{service.log()}"
                return _answers(health_url)

            wait_until(healthy, 60, f"{module} at {health_url}")
        return service

    yield start
    for service in started:
        service.process.terminate()
    for service in started:
        try:
            service.process.wait(20)
        except subprocess.TimeoutExpired:
            service.process.kill()
