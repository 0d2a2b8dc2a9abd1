"""A Compose stack brought up for checks or measurements: where it answers, and compose commands on it.

The single-node stack is docker-compose.yml; the scaled one adds docker-compose.scale.yml (3 brokers, 2
TaskManagers, replicas behind the gateway). Host ports are free ports chosen at start, so a stack never
collides with the local stack (9092, 6379, 5432, 8081, 8000, 8001, 9108) or a user's own Compose stack
(its own project name too). The environment is clean and the env file empty, so a stack gets the
defaults of a fresh clone (write keys on: keys-init makes one).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from flink_service.cluster import FlinkCluster
from harness.infra import REPO_ROOT, free_port

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SCALE_FILE = REPO_ROOT / "docker-compose.scale.yml"
# Containers that run to completion; every other service runs until stopped.
ONE_SHOT_SERVICES = frozenset({"kafka-init", "flink-submit", "keys-init"})
# Host port variables of docker-compose.yml (the services' own ports inside the network do not change),
# and the scaled stack's further brokers.
HOST_PORTS = ("KAFKA_HOST_PORT", "REDIS_HOST_PORT", "POSTGRES_HOST_PORT", "FLINK_UI_PORT", "TRACK_PORT",
              "API_PORT", "SYNC_METRICS_PORT")
SCALE_HOST_PORTS = (*HOST_PORTS, "KAFKA_2_HOST_PORT", "KAFKA_3_HOST_PORT")
CREDENTIALS = {"REDIS_PASSWORD": "redispass", "POSTGRES_USER": "admin", "POSTGRES_PASSWORD": "adminpass",
               "POSTGRES_DB": "analytics"}
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_BUILDKIT",
                  "COMPOSE_BAKE", "XDG_RUNTIME_DIR")
# Where keys-init keeps the write key it made (docker-compose.yml).
WRITE_KEY_PATH = "/var/lib/track-keys/write-key"


@dataclass
class ComposeStack:
    project: str
    files: tuple[Path, ...] = (COMPOSE_FILE,)
    port_names: tuple[str, ...] = HOST_PORTS
    ports: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.ports = {name: free_port() for name in self.port_names}
        self._env_file = tempfile.NamedTemporaryFile("w", suffix=".env", prefix="compose-tier-")  # noqa: SIM115
        self._write_key: str | None = None

    @classmethod
    def scaled(cls, project: str) -> ComposeStack:
        """The scaled stack: docker-compose.yml with docker-compose.scale.yml on top."""
        return cls(project, files=(COMPOSE_FILE, SCALE_FILE), port_names=SCALE_HOST_PORTS)

    @property
    def env(self) -> dict[str, str]:
        inherited = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
        return {**inherited, **CREDENTIALS, **{name: str(port) for name, port in self.ports.items()}}

    def command(self, *args: str) -> list[str]:
        files = [arg for path in self.files for arg in ("-f", str(path))]
        return ["docker", "compose", "-p", self.project, *files, "--env-file", self._env_file.name, *args]

    def run(self, *args: str, timeout_s: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(self.command(*args), env=self.env, cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=timeout_s)
        if check and done.returncode != 0:
            raise AssertionError(f"docker compose {' '.join(args)} failed ({done.returncode}):\n"
                                 f"{done.stderr[-3000:]}\n{self.failure_report()}")
        return done

    def up(self) -> None:
        self.run("up", "-d", "--wait", "--wait-timeout", "600", timeout_s=900)

    def down(self) -> None:
        """Containers and volumes gone (the demo profile's load generator too)."""
        self.run("--profile", "demo", "down", "-v", "--remove-orphans", check=False)

    def containers(self) -> list[dict[str, Any]]:
        """`docker compose ps -a` as dicts (Service, State, Health, ExitCode, ID, Name, ...)."""
        out = self.run("ps", "-a", "--format", "json", check=False).stdout
        rows: list[dict[str, Any]] = []
        for line in out.splitlines():  # one JSON object a line (Compose >= 2.21), or one array
            parsed = json.loads(line) if line.strip() else []
            rows.extend(parsed if isinstance(parsed, list) else [parsed])
        return rows

    def container_ids(self, service: str) -> list[str]:
        """The ids of the service's containers (every replica), running or not, in replica order."""
        rows = sorted((row for row in self.containers() if row["Service"] == service), key=lambda row: row["Name"])
        return [str(row["ID"]) for row in rows]

    def problems(self) -> dict[str, str]:
        """Container -> what is wrong with it: not running, unhealthy, or a one-shot that failed."""
        found = {}
        for row in self.containers():
            name, state, health = row["Service"], row["State"], row.get("Health", "")
            if name in ONE_SHOT_SERVICES:
                if state != "exited" or int(row.get("ExitCode", 0)) != 0:
                    found[row["Name"]] = f"{state}, exit code {row.get('ExitCode')}"
            elif state != "running" or health not in ("healthy", ""):
                found[row["Name"]] = f"{state} {health}".strip()
        return found

    def logs(self, service: str, lines: int | None = 40) -> str:
        tail = ["--tail", str(lines)] if lines else []
        return self.run("logs", "--no-color", *tail, service, check=False).stdout

    def failure_report(self) -> str:
        """`compose ps` and the last log lines of every service in trouble (of each service if none is)."""
        troubled = {row["Service"] for row in self.containers() if row["Name"] in self.problems()}
        ps = self.run("ps", "-a", check=False).stdout
        services = troubled or {row["Service"] for row in self.containers()}
        lines = 60 if troubled else 15
        sections = [f"== docker compose ps ==\n{ps}"]
        for service in sorted(services):
            sections.append(f"== {service}: last {lines} log lines ==\n{self.logs(service, lines)}")
        return "\n".join(sections)

    def url(self, port_variable: str) -> str:
        return f"http://127.0.0.1:{self.ports[port_variable]}"

    def write_key(self) -> str:
        """The write key keys-init made at the first start (the stack sets no TRACK_API_KEYS)."""
        if self._write_key is None:
            self._write_key = self.run("exec", "-T", "track_service", "cat", WRITE_KEY_PATH).stdout.strip()
        return self._write_key

    @property
    def write_headers(self) -> dict[str, str]:
        return {"X-API-Key": self.write_key()}

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


@contextmanager
def brought_up(stack: ComposeStack, what: str) -> Iterator[ComposeStack]:
    """`stack` up (`up --wait`, after clearing what a failed earlier run left), then down with its volumes."""
    stack.down()
    started = time.monotonic()
    try:
        stack.up()
        print(f"\n[compose-tier] {what} up (--wait): {time.monotonic() - started:.0f} s", flush=True)
        yield stack
    finally:
        stack.down()
        stack.close()


def docker(*args: str, timeout_s: float = 60) -> str:
    """A docker CLI command on the engine of DOCKER_HOST; its output (fails loudly)."""
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-1000:]}")
    return done.stdout.strip()


def container_address(container_id: str) -> str:
    """The container's address on its Compose network."""
    return docker("inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
                  container_id).split()[0]
