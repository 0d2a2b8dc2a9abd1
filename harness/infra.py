"""Where the servers are, and the private slices of them a test or benchmark takes (names, ports)."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

from localstack.flink import Flink
from localstack.settings import StackSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = Path(os.environ.get("RUN_DIR", REPO_ROOT / ".run"))


def unique_name(kind: str, owner: str = "test") -> str:
    """A fresh name for a topic, group, key prefix, schema or job: `test-topic-1a2b3c4d5e`."""
    return f"{owner}-{kind}-{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    """A TCP port nobody listens on right now (for a server a test or benchmark starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap: str
    redis_host: str
    redis_port: int
    redis_password: str
    postgres_dsn: str
    flink_rest_url: str | None

    def service_env(self) -> dict[str, str]:
        """Env vars pointing a service's Settings at this infrastructure."""
        host, _, port = self.postgres_dsn.rsplit("@", 1)[1].partition("/")[0].partition(":")
        user_pass = self.postgres_dsn.split("://", 1)[1].rsplit("@", 1)[0]
        user, _, password = user_pass.partition(":")
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "REDIS_HOST": self.redis_host,
            "REDIS_PORT": str(self.redis_port),
            "REDIS_PASSWORD": self.redis_password,
            "POSTGRES_HOST": host,
            "POSTGRES_PORT": port,
            "POSTGRES_USER": user,
            "POSTGRES_PASSWORD": password,
            "POSTGRES_DB": self.postgres_dsn.rsplit("/", 1)[1],
        }


def local_infra() -> Infra:
    """The local stack, addressed by the env names (and defaults) the services read."""
    stack = StackSettings()
    flink_rest_url = os.environ.get("FLINK_REST_URL", f"http://localhost:{stack.flink_ui_port}")
    return Infra(stack.kafka_bootstrap_servers, stack.redis_host, stack.redis_port, stack.redis_password,
                 stack.postgres_dsn, flink_rest_url)


def local_flink() -> Flink:
    """The local stack's Flink cluster: `.client_env()` for the `flink` CLI, `.up()` to start a TaskManager
    when none is registered (PyFlink's Python workers have crashed one while a job was cancelled)."""
    return Flink("flink", StackSettings(run_dir=RUN_DIR))
