"""The local stack's command: idempotent start, status, supervised restarts, and one-line errors for the
usual failures."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.infra import REPO_ROOT, free_port
from harness.waiting import wait_until
from localstack.graph import selected
from localstack.infra import Kafka, Redis, new_cluster_id
from localstack.processes import StackError
from localstack.settings import StackSettings
from localstack.supervisor import Supervisor


def run_stack(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "localstack.stack", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def private_env() -> Iterator[dict[str, str]]:
    """Env for a private stack: its own run folder and a free Redis port (stopped and removed afterwards)."""
    run_dir = tempfile.mkdtemp(prefix="stack-test-")
    env = {**os.environ, "RUN_DIR": run_dir, "REDIS_PORT": str(free_port())}
    yield env
    run_stack("down", env=env)
    subprocess.run(["rm", "-rf", run_dir], check=False)


def test_a_second_up_reports_what_runs_instead_of_starting_it_again(flink_rest_url: str) -> None:
    """(Uses `flink_rest_url` to run only against the local stack, not testcontainers.)"""
    done = run_stack("up", "infra")
    assert done.returncode == 0, done.stderr
    for name in ("redis", "postgres", "kafka", "flink"):
        assert f"{name}: already running" in done.stdout
    assert "already running: nothing to start" in done.stdout
    assert f"http://localhost:{StackSettings().flink_ui_port}" in done.stdout


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


def test_java_missing_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    kafka = Kafka("kafka", StackSettings(run_dir=tmp_path, kafka_bootstrap_servers=f"localhost:{free_port()}",
                                         kafka_controller_port=free_port()))
    with pytest.raises(StackError, match=r"^Java not found \(java\): install a JDK 17"):
        kafka.up()


def test_kafka_cluster_ids_never_start_with_a_dash_and_one_that_does_still_formats(tmp_path: Path) -> None:
    assert not any(new_cluster_id().startswith("-") for _ in range(2000)), "kafka-storage reads it as an option"
    kafka = Kafka("kafka", StackSettings(run_dir=tmp_path, kafka_bootstrap_servers=f"localhost:{free_port()}",
                                         kafka_controller_port=free_port()))
    kafka.home.mkdir()
    kafka.write_config()
    cluster_id = "-" + new_cluster_id()[1:]  # an id an earlier version could have made
    kafka.format_storage(cluster_id)
    assert f"cluster.id={cluster_id}\n" in (kafka.home / "data" / "meta.properties").read_text()


def test_a_killed_server_is_restarted_counted_and_down_leaves_nothing(private_env: dict[str, str]) -> None:
    assert run_stack("up", "redis", env=private_env).returncode == 0
    supervisor = Supervisor(Path(private_env["RUN_DIR"]))
    first = supervisor.pid("redis")
    assert first is not None
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: supervisor.pid("redis") not in (None, first) and supervisor.state("redis") == "RUNNING",
               30, "redis restarted by supervisord")
    second = supervisor.pid("redis")
    status = run_stack("status", "redis", env=private_env)
    assert status.returncode == 0, status.stdout
    assert f"redis     healthy   RUNNING pid {second}, 1 restart " in status.stdout

    down = run_stack("down", env=private_env)
    assert down.returncode == 0, down.stderr
    assert "redis: stopped" in down.stdout
    assert second is not None and not Path(f"/proc/{second}").exists(), "redis outlived `down`"
    assert not supervisor.answers(), "supervisord outlived `down`"


def test_restarts_are_the_exits_supervisord_logged_since_it_started(tmp_path: Path) -> None:
    """Counted from supervisord's own log: an exit it did not ask for is followed by a restart, unless it gave
    up on the program (FATAL); a stop is logged as `stopped:`; an earlier supervisord's exits do not count."""
    (tmp_path / "supervisord.log").write_text("\n".join([
        "2026-11-27 11:00:00,000 INFO supervisord started with pid 10",
        "2026-11-27 11:00:01,000 WARN exited: redis (terminated by SIGKILL; not expected)",
        "2026-11-27 11:46:53,532 INFO supervisord started with pid 25403",
        "2026-11-27 11:47:25,261 WARN exited: taskmanager (terminated by SIGKILL; not expected)",
        "2026-11-27 11:47:26,267 INFO spawned: 'taskmanager' with pid 27665",
        "2026-11-27 11:48:00,000 INFO exited: track (exit status 0; expected)",
        "2026-11-27 11:49:00,000 WARN exited: api (exit status 2; not expected)",
        "2026-11-27 11:49:01,000 WARN exited: api (exit status 2; not expected)",
        "2026-11-27 11:49:01,500 INFO gave up: api entered FATAL state, too many start retries too quickly",
        "2026-11-27 11:50:00,000 INFO stopped: sync (terminated by SIGTERM)",
        "",
    ]))
    assert Supervisor(tmp_path).restarts() == {"taskmanager": 1, "track": 1, "api": 1}
