"""Fixtures of the compose checks: the compose files as Compose itself resolves them.

The files are rendered by Compose (`docker compose config`, else Debian's `docker-compose`), with a
clean environment and an empty env file, so the checks see the defaults a fresh clone gets. The
scaled stack (docker-compose.scale.yml on top) needs Compose v2 (`!reset`, a project `name`): where
only Debian's 1.29 is installed its checks skip, and the Compose tier runs them.
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

from harness.compose_stack import COMPOSE_FILE, ONE_SHOT_SERVICES, SCALE_FILE
from harness.infra import REPO_ROOT

__all__ = ["ONE_SHOT_SERVICES", "REPO_ROOT", "run_compose"]

# Each model the checks render: its compose files and active profiles.
MODELS: dict[str, tuple[tuple[Path, ...], list[str]]] = {
    "default": ((COMPOSE_FILE,), []),
    "demo": ((COMPOSE_FILE,), ["demo"]),
    "scale": ((COMPOSE_FILE, SCALE_FILE), []),
    "scale-demo": ((COMPOSE_FILE, SCALE_FILE), ["demo"]),
}


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


def run_compose(
    *args: str, profiles: list[str] | None = None, files: tuple[Path, ...] = (COMPOSE_FILE,), check: bool = True
) -> subprocess.CompletedProcess[str]:
    command = compose_command()
    if SCALE_FILE in files and command == ["docker-compose"]:
        pytest.skip("the scaled stack needs Compose v2 (`!reset`); the Compose tier checks it")
    with tempfile.NamedTemporaryFile("w", suffix=".env") as empty_env:
        cmd = [*command, "--project-directory", str(REPO_ROOT), *(arg for path in files for arg in ("-f", str(path))),
               "--env-file", empty_env.name]
        for profile in profiles or []:
            cmd += ["--profile", profile]
        done = subprocess.run([*cmd, *args], capture_output=True, text=True, env=clean_env(), cwd=REPO_ROOT)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(cmd[:2])} {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


def render(model: str) -> dict[str, Any]:
    files, profiles = MODELS[model]
    resolved: dict[str, Any] = yaml.safe_load(run_compose("config", profiles=profiles, files=files).stdout)
    return resolved


@pytest.fixture(scope="session", params=sorted(MODELS))
def resolved(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The compose model with interpolation and YAML anchors resolved, per file and profile set."""
    return render(request.param)


@pytest.fixture(scope="session", params=["demo", "scale-demo"])
def resolved_demo(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every service there is: the single-node and the scaled stack with the demo profile."""
    return render(request.param)


@pytest.fixture(scope="session")
def resolved_scale() -> dict[str, Any]:
    return render("scale-demo")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failing check against the Compose stack shows `compose ps` and the failing services' last logs."""
    outcome = yield
    report = outcome.get_result()
    stack = item.funcargs.get("stack") if hasattr(item, "funcargs") else None
    if report.failed and stack is not None and hasattr(stack, "failure_report"):
        report.sections.append(("compose stack", stack.failure_report()))
