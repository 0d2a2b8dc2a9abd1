"""Shared real-infrastructure fixtures.

The servers come from the running local stack (`make dev` / `make test`), addressed by the same
env names the services use. Where the stack does not answer and a Docker engine does, Kafka,
Redis and PostgreSQL are started with testcontainers instead (the Flink tests need the stack).
Every test gets its own topic, Redis key prefix and PostgreSQL schema.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from contracts.redis_keys import RedisKeys

REPO_ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = Path(os.environ.get("RUN_DIR", REPO_ROOT / ".run"))


def wait_until(condition: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.2) -> Any:
    """Poll until `condition()` is truthy and return its value; fail the test after the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(interval_s)


def free_port() -> int:
    """A TCP port nobody listens on right now (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


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


def _local_infra() -> Infra:
    env = os.environ.get
    pg = (
        f"postgresql://{env('POSTGRES_USER', 'admin')}:{env('POSTGRES_PASSWORD', 'adminpass')}"
        f"@{env('POSTGRES_HOST', 'localhost')}:{env('POSTGRES_PORT', '5432')}/{env('POSTGRES_DB', 'analytics')}"
    )
    return Infra(
        kafka_bootstrap=env("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
        redis_host=env("REDIS_HOST", "localhost"),
        redis_port=int(env("REDIS_PORT", "6379")),
        redis_password=env("REDIS_PASSWORD", "redispass"),
        postgres_dsn=pg,
        flink_rest_url=env("FLINK_REST_URL", f"http://localhost:{env('FLINK_UI_PORT', '8081')}"),
    )


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    local = _local_infra()
    kafka_host, _, kafka_port = local.kafka_bootstrap.split(",")[0].rpartition(":")
    if os.environ.get("ANALYTICS_STACK") == "local" or _port_open(kafka_host, int(kafka_port)):
        yield local
        return
    if not _docker_answers():
        pytest.exit(
            "no infrastructure: start the local stack with `make dev` (or run `make test`), "
            "or run where a Docker engine answers",
            returncode=2,
        )
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer
    from testcontainers.redis import RedisContainer

    with (
        KafkaContainer("apache/kafka:4.1.1").with_kraft() as kafka,
        RedisContainer("redis:7.0").with_command("redis-server --requirepass redispass") as rds,
        PostgresContainer("postgres:15", username="admin", password="adminpass", dbname="analytics") as pg,
    ):
        yield Infra(
            kafka_bootstrap=kafka.get_bootstrap_server(),
            redis_host=rds.get_container_host_ip(),
            redis_port=int(rds.get_exposed_port(6379)),
            redis_password="redispass",
            postgres_dsn=pg.get_connection_url(driver=None),
            flink_rest_url=None,
        )


def unique_name(kind: str) -> str:
    return f"test-{kind}-{uuid.uuid4().hex[:10]}"


def end_offsets(bootstrap: str, topic: str, partitions: int = 3) -> int:
    """Total records ever written to the topic (sum of high watermarks)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("group"), "log_level": 3})
    try:
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
            for partition in range(partitions)
        )
    finally:
        consumer.close()


def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int = 3) -> int:
    """Total offsets the consumer group has committed on the topic (0 for a partition with none)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(partitions)])
    [future] = admin.list_consumer_group_offsets([request]).values()
    return sum(max(tp.offset, 0) for tp in future.result(timeout=10).topic_partitions)


@pytest.fixture
def kafka_admin(infra: Infra) -> AdminClient:
    return AdminClient({"bootstrap.servers": infra.kafka_bootstrap})


@pytest.fixture
def make_topic(kafka_admin: AdminClient) -> Iterator[Callable[..., str]]:
    """Create unique topics (deleted after the test): `make_topic(partitions=3)` -> name."""
    created: list[str] = []

    def create(partitions: int = 1) -> str:
        name = unique_name("topic")
        futures = kafka_admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        futures[name].result(timeout=30)
        created.append(name)
        return name

    yield create
    if created:
        for future in kafka_admin.delete_topics(created).values():
            with contextlib.suppress(Exception):
                future.result(timeout=30)


@pytest.fixture
def topic(make_topic: Callable[..., str]) -> str:
    return make_topic(partitions=1)


@pytest.fixture
def redis_client(infra: Infra) -> Iterator[redis.Redis]:
    client = redis.Redis(
        host=infra.redis_host, port=infra.redis_port, password=infra.redis_password, decode_responses=True
    )
    yield client
    client.close()


@pytest.fixture
def redis_keys(redis_client: redis.Redis) -> Iterator[RedisKeys]:
    """A unique key prefix; every key under it is deleted after the test."""
    keys = RedisKeys(prefix=unique_name("prefix"))
    yield keys
    stale = list(redis_client.scan_iter(match=f"{keys.prefix}:*", count=1000))
    if stale:
        redis_client.delete(*stale)


@pytest.fixture
def pg_schema(infra: Infra) -> Iterator[str]:
    """A unique PostgreSQL schema, dropped after the test."""
    import asyncio

    import asyncpg

    schema = unique_name("schema").replace("-", "_")

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(infra.postgres_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE SCHEMA "{schema}"'))
    yield schema
    asyncio.run(run(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(scope="session")
def flink_env() -> dict[str, str]:
    """Env for the `flink` CLI against the local cluster (its conf dir and the lib dir with the connector)."""
    from localstack.flink import Flink
    from localstack.settings import StackSettings

    return Flink("flink", StackSettings(run_dir=RUN_DIR)).client_env()


@pytest.fixture
def flink_rest_url(infra: Infra) -> str:
    """The local Flink cluster, with a TaskManager: one that died in an earlier test (PyFlink's
    Python workers have crashed one while a job was cancelled) is replaced rather than letting
    every later Flink test hang."""
    if infra.flink_rest_url is None:
        pytest.skip("the Flink tests need the local stack's Flink cluster (`make dev`); none here")
    heal_flink()
    return infra.flink_rest_url


def heal_flink() -> None:
    """Start a TaskManager beside the local JobManager when none is registered (see flink_rest_url)."""
    from localstack.flink import Flink
    from localstack.settings import StackSettings

    Flink("flink", StackSettings(run_dir=RUN_DIR)).up()
