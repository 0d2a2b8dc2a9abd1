"""The local stack's command: idempotent start, status, and one-line errors for the usual failures."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from harness.infra import REPO_ROOT
from localstack.graph import selected
from localstack.infra import Redis
from localstack.processes import StackError
from localstack.settings import StackSettings


def run_stack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "localstack.stack", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_a_second_up_reports_what_runs_instead_of_starting_it_again(flink_rest_url: str) -> None:
    """(Uses `flink_rest_url` to run only against the local stack, not testcontainers.)"""
    done = run_stack("up", "infra")
    assert done.returncode == 0, done.stderr
    for name in ("redis", "postgres", "kafka", "flink"):
        assert f"{name}: already running" in done.stdout
    assert "already running: nothing to start" in done.stdout
    assert "http://localhost:8081" in done.stdout


def test_status_of_the_running_infrastructure(flink_rest_url: str) -> None:
    done = run_stack("status", "infra")
    assert done.returncode == 0, done.stdout
    assert [line.split()[:2] for line in done.stdout.splitlines()] == [
        ["redis", "healthy"], ["postgres", "healthy"], ["kafka", "healthy"], ["flink", "healthy"]]


def test_a_taken_port_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        redis = Redis("redis", StackSettings(run_dir=tmp_path, redis_port=port))
        with pytest.raises(StackError, match=f"port {port} needed by Redis is already taken.*set REDIS_PORT"):
            redis.up()


def test_unknown_components_are_refused() -> None:
    done = run_stack("up", "zookeeper")
    assert done.returncode == 2
    assert "unknown component(s) ['zookeeper']" in done.stderr


def test_up_starts_what_a_component_needs_first(tmp_path: Path) -> None:
    settings = StackSettings(run_dir=tmp_path)
    names = [component.name for component in selected(settings, ["loadgen"], with_needs=True)]
    assert names == ["kafka", "track", "loadgen"]
    names = [component.name for component in selected(settings, ["job", "api"], with_needs=True)]
    assert names == ["redis", "postgres", "kafka", "flink", "job", "api"]
    assert [component.name for component in selected(settings, ["track"])] == ["track"], "down stops only it"
