"""Smoke test of the real local stack: Kafka, Redis, PostgreSQL and a PyFlink job on the cluster."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import asyncpg
import pytest
import redis
from confluent_kafka import Producer

from flink_service.cluster import TERMINAL_STATES, FlinkCluster, parse_job_id
from harness.infra import Infra, unique_name
from harness.kafka import read_topic


def produce(bootstrap: str, topic: str, values: Sequence[Mapping[str, object]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for value in values:
        producer.produce(topic, json.dumps(value).encode())
    assert producer.flush(30) == 0


def consume(bootstrap: str, topic: str) -> list[dict[str, object]]:
    return [json.loads(message.value() or b"null") for message in read_topic(bootstrap, topic, partitions=1)]


def test_kafka_round_trip(infra: Infra, topic: str) -> None:
    sent = [{"i": i} for i in range(10)]
    produce(infra.kafka_bootstrap, topic, sent)
    assert consume(infra.kafka_bootstrap, topic) == sent


def test_redis_with_configured_password(infra: Infra, redis_client: redis.Redis) -> None:
    key = unique_name("key")
    redis_client.set(key, "hello", ex=60)
    assert redis_client.get(key) == "hello"
    wrong = redis.Redis(host=infra.redis_host, port=infra.redis_port, password="not-the-password")
    with pytest.raises(redis.AuthenticationError):
        wrong.ping()


def test_postgres_with_configured_credentials(infra: Infra, pg_schema: str) -> None:
    async def round_trip() -> list[tuple[int, str]]:
        conn = await asyncpg.connect(infra.postgres_dsn)
        try:
            await conn.execute(f'CREATE TABLE "{pg_schema}".t (id int primary key, name text)')
            await conn.executemany(f'INSERT INTO "{pg_schema}".t VALUES ($1, $2)', [(1, "a"), (2, "b")])
            rows = await conn.fetch(f'SELECT id, name FROM "{pg_schema}".t ORDER BY id')
            return [(row["id"], row["name"]) for row in rows]
        finally:
            await conn.close()

    assert asyncio.run(round_trip()) == [(1, "a"), (2, "b")]


@pytest.mark.flink
def test_pyflink_sql_job_reads_kafka_through_the_connector(
    infra: Infra, make_topic: Callable[..., str], flink_rest_url: str, flink_env: dict[str, str]
) -> None:
    source, sink = make_topic(), make_topic()
    produce(infra.kafka_bootstrap, source, [{"word": w, "n": i} for i, w in enumerate(["kafka", "flink"])])
    cluster = FlinkCluster(flink_rest_url)
    job_file = Path(__file__).with_name("smoke_job.py")
    submitted = cluster.run_python(
        job_file,
        ["--bootstrap", infra.kafka_bootstrap, "--source-topic", source, "--sink-topic", sink],
        detached=True,
        env=flink_env,
    )
    assert submitted.returncode == 0, submitted.stdout[-2000:] + submitted.stderr[-2000:]
    job_id = parse_job_id(submitted.stdout)
    assert cluster.wait_state(job_id, TERMINAL_STATES, timeout_s=180) == "FINISHED"
    assert consume(infra.kafka_bootstrap, sink) == [
        {"word": "KAFKA", "n": 0},
        {"word": "FLINK", "n": 2},
    ]
