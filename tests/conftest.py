"""Shared real-infrastructure fixtures, and the registration of each test package's own fixtures.

The servers come from the running local stack (`make dev` / `make test`), addressed by the same
env names the services use. Where the stack does not answer and a Docker engine does, Kafka,
Redis and PostgreSQL are started with testcontainers instead (the Flink tests need the stack).
Every test gets its own topic, Redis key prefix and PostgreSQL schema. What tests and benchmarks
both use lives in the `harness` package; fixtures live here and in tests/<package>/fixtures.py.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator

import pytest
import redis
from confluent_kafka.admin import AdminClient

from contracts.redis_keys import RedisKeys
from harness.infra import Infra, local_flink, local_infra, unique_name
from harness.kafka import create_topics, delete_topics
from harness.stores import delete_prefix, drop_schemas, run_sql

pytest_plugins = [
    "tests.api_service.fixtures",
    "tests.dashboard.fixtures",
    "tests.e2e.fixtures",
    "tests.flink_service.fixtures",
    "tests.sync_service.fixtures",
    "tests.track_service.fixtures",
]


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


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    local = local_infra()
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


@pytest.fixture
def kafka_admin(infra: Infra) -> AdminClient:
    return AdminClient({"bootstrap.servers": infra.kafka_bootstrap})


@pytest.fixture
def make_topic(kafka_admin: AdminClient) -> Iterator[Callable[..., str]]:
    """Create unique topics (deleted after the test): `make_topic(partitions=3)` -> name."""
    created: list[str] = []

    def create(partitions: int = 1) -> str:
        name = unique_name("topic")
        create_topics(kafka_admin, [name], partitions)
        created.append(name)
        return name

    yield create
    delete_topics(kafka_admin, created)


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
    delete_prefix(redis_client, keys.prefix)


@pytest.fixture
def pg_schema(infra: Infra) -> Iterator[str]:
    """A unique PostgreSQL schema, dropped after the test."""
    schema = unique_name("schema").replace("-", "_")
    run_sql(infra.postgres_dsn, f'CREATE SCHEMA "{schema}"')
    yield schema
    drop_schemas(infra.postgres_dsn, [schema])


@pytest.fixture(scope="session")
def flink_env() -> dict[str, str]:
    """Env for the `flink` CLI against the local cluster (its conf dir and the lib dir with the connector)."""
    return local_flink().client_env()


@pytest.fixture
def flink_rest_url(infra: Infra) -> str:
    """The local Flink cluster, with a TaskManager: one that died in an earlier test (PyFlink's
    Python workers have crashed one while a job was cancelled) is replaced rather than letting
    every later Flink test hang."""
    if infra.flink_rest_url is None:
        pytest.skip("the Flink tests need the local stack's Flink cluster (`make dev`); none here")
    local_flink().up()
    return infra.flink_rest_url
