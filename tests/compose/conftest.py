"""Fixtures of the compose checks: the compose file as Compose itself resolves it.

The file is rendered by Compose (`docker compose config`, else Debian's `docker-compose`), with a
clean environment and an empty env file, so the checks see the defaults a fresh clone gets.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
# Containers that run to completion; every other service runs until stopped.
ONE_SHOT_SERVICES = frozenset({"kafka-init", "flink-submit"})
PROFILES: dict[str, list[str]] = {"default": [], "demo": ["demo"]}


def compose_command() -> list[str]:
    """`docker compose` (v2 plugin) when it answers, else Debian's `docker-compose`."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail(
        "no Compose found: install Debian's docker-compose (`apt-get install -y docker-compose`; "
        "scripts/setup.sh should) or the docker compose plugin"
    )


def clean_env() -> dict[str, str]:
    """The process env minus anything that would override the compose file's defaults."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "DOCKER_HOST", "DOCKER_CONFIG", "XDG_RUNTIME_DIR")
    return {name: os.environ[name] for name in keep if name in os.environ}


def run_compose(*args: str, profiles: list[str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".env") as empty_env:
        cmd = [*compose_command(), "--project-directory", str(REPO_ROOT), "-f", str(COMPOSE_FILE),
               "--env-file", empty_env.name]
        for profile in profiles or []:
            cmd += ["--profile", profile]
        done = subprocess.run([*cmd, *args], capture_output=True, text=True, env=clean_env(), cwd=REPO_ROOT)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(cmd[:2])} {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


@pytest.fixture(scope="session", params=sorted(PROFILES))
def resolved(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The compose model with interpolation and YAML anchors resolved, per profile set."""
    output = run_compose("config", profiles=PROFILES[request.param]).stdout
    model: dict[str, Any] = yaml.safe_load(output)
    return model


@pytest.fixture(scope="session")
def resolved_demo() -> dict[str, Any]:
    model: dict[str, Any] = yaml.safe_load(run_compose("config", profiles=["demo"]).stdout)
    return model


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failing check against the Compose stack shows `compose ps` and the failing services' last logs."""
    outcome = yield
    report = outcome.get_result()
    stack = item.funcargs.get("stack") if hasattr(item, "funcargs") else None
    if report.failed and stack is not None and hasattr(stack, "failure_report"):
        report.sections.append(("compose stack", stack.failure_report()))
