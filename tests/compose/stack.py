"""The Compose stack the tier brings up once and checks: where it answers, and compose commands on it.

Host ports are free ports chosen at start, so the stack never collides with the local stack (9092,
6379, 5432, 8081, 8000, 8001, 9108) or a user's own Compose stack (its own project name too). The
environment is clean and the env file empty, so the checks see the defaults of a fresh clone.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import Any

import redis

from flink_service.cluster import FlinkCluster
from harness.infra import free_port
from tests.compose.conftest import COMPOSE_FILE, ONE_SHOT_SERVICES, REPO_ROOT

# Host port variables of docker-compose.yml (the services' own ports inside the network do not change).
HOST_PORTS = ("KAFKA_HOST_PORT", "REDIS_HOST_PORT", "POSTGRES_HOST_PORT", "FLINK_UI_PORT", "TRACK_PORT",
              "API_PORT", "SYNC_METRICS_PORT")
CREDENTIALS = {"REDIS_PASSWORD": "redispass", "POSTGRES_USER": "admin", "POSTGRES_PASSWORD": "adminpass",
               "POSTGRES_DB": "analytics"}
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_BUILDKIT",
                  "COMPOSE_BAKE", "XDG_RUNTIME_DIR")


@dataclass
class ComposeStack:
    project: str
    ports: dict[str, int] = field(default_factory=lambda: {name: free_port() for name in HOST_PORTS})

    def __post_init__(self) -> None:
        self._env_file = tempfile.NamedTemporaryFile("w", suffix=".env", prefix="compose-tier-")  # noqa: SIM115

    @property
    def env(self) -> dict[str, str]:
        inherited = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
        return {**inherited, **CREDENTIALS, **{name: str(port) for name, port in self.ports.items()}}

    def command(self, *args: str) -> list[str]:
        return ["docker", "compose", "-p", self.project, "-f", str(COMPOSE_FILE),
                "--env-file", self._env_file.name, *args]

    def run(self, *args: str, timeout_s: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(self.command(*args), env=self.env, cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=timeout_s)
        if check and done.returncode != 0:
            raise AssertionError(f"docker compose {' '.join(args)} failed ({done.returncode}):\n"
                                 f"{done.stderr[-3000:]}\n{self.failure_report()}")
        return done

    def up(self) -> None:
        self.run("up", "-d", "--wait", "--wait-timeout", "600", timeout_s=900)

    def containers(self) -> list[dict[str, Any]]:
        """`docker compose ps -a` as dicts (Service, State, Health, ExitCode, ID, ...)."""
        out = self.run("ps", "-a", "--format", "json", check=False).stdout
        rows: list[dict[str, Any]] = []
        for line in out.splitlines():  # one JSON object a line (Compose >= 2.21), or one array
            parsed = json.loads(line) if line.strip() else []
            rows.extend(parsed if isinstance(parsed, list) else [parsed])
        return rows

    def problems(self) -> dict[str, str]:
        """Service -> what is wrong with it: not running, unhealthy, or a one-shot that failed."""
        found = {}
        for row in self.containers():
            name, state, health = row["Service"], row["State"], row.get("Health", "")
            if name in ONE_SHOT_SERVICES:
                if state != "exited" or int(row.get("ExitCode", 0)) != 0:
                    found[name] = f"{state}, exit code {row.get('ExitCode')}"
            elif state != "running" or health not in ("healthy", ""):
                found[name] = f"{state} {health}".strip()
        return found

    def logs(self, service: str, lines: int = 40) -> str:
        return self.run("logs", "--no-color", "--tail", str(lines), service, check=False).stdout

    def failure_report(self) -> str:
        """`compose ps` and the last log lines of every service in trouble (of each service if none is)."""
        problems = self.problems()
        ps = self.run("ps", "-a", check=False).stdout
        services = problems or {row["Service"]: "" for row in self.containers()}
        sections = [f"== docker compose ps ==\n{ps}"]
        for service, problem in sorted(services.items()):
            lines = 60 if problems else 15
            sections.append(f"== {service} {problem}: last {lines} log lines ==\n{self.logs(service, lines)}")
        return "\n".join(sections)

    def url(self, port_variable: str) -> str:
        return f"http://127.0.0.1:{self.ports[port_variable]}"

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports['KAFKA_HOST_PORT']}"

    @property
    def postgres_dsn(self) -> str:
        c = CREDENTIALS
        return (f"postgresql://{c['POSTGRES_USER']}:{c['POSTGRES_PASSWORD']}@127.0.0.1:"
                f"{self.ports['POSTGRES_HOST_PORT']}/{c['POSTGRES_DB']}")

    def redis_client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.ports["REDIS_HOST_PORT"],
                           password=CREDENTIALS["REDIS_PASSWORD"], decode_responses=True)

    def flink(self) -> FlinkCluster:
        return FlinkCluster(self.url("FLINK_UI_PORT"))

    def close(self) -> None:
        self._env_file.close()
