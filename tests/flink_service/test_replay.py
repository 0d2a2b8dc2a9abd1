"""Replay from Kafka: the job's SQL as a bounded batch job on the real cluster, into a private schema."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from contracts.events import Event
from contracts.window_results import WindowMetrics
from contracts.windows import parse_window_specs
from flink_service.replay import ReplayPlan, ReplayRefused, ReplaySettings, plan_replay, run_batch_job
from harness.infra import Infra, local_flink, unique_name
from harness.stores import fetch_rows, run_sql
from tests.flink_service.test_job import base_time_ms
from tests.oracle import expected_breakdown_windows, expected_windows, generate_events

pytestmark = pytest.mark.flink
HOUR_MS = 3_600_000


def replay_settings(infra: Infra, topic: str, schema: str, flink_rest_url: str, **extra: Any) -> ReplaySettings:
    values: dict[str, Any] = {name.lower(): value for name, value in infra.service_env().items()}
    return ReplaySettings(**values | extra, kafka_events_topic=topic, postgres_schema=schema,
                          flink_rest_url=flink_rest_url, flink_job_name=unique_name("job"))


def replay(settings: ReplaySettings, plan: ReplayPlan) -> None:
    assert run_batch_job(settings, plan, extra_env=local_flink().client_env()) == 0


def stored(settings: ReplaySettings) -> dict[tuple[str, str, int], WindowMetrics]:
    rows = fetch_rows(settings.postgres_dsn, settings.postgres_schema)
    assert len({row.identity for row in rows}) == len(rows), "a window stored twice"
    return {row.key: row for row in rows}


def in_range(windows: dict[tuple[str, str, int], WindowMetrics], from_ms: int, to_ms: int) -> dict[
        tuple[str, str, int], WindowMetrics]:
    return {key: window for key, window in windows.items() if from_ms <= key[2] < to_ms}


def test_replay_restores_exactly_the_oracle_rows_and_writes_a_new_spec(
    infra: Infra, make_topic: Callable[..., str], pg_schema: str, flink_rest_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = replay_settings(infra, make_topic(partitions=3), pg_schema, flink_rest_url)
    base = base_time_ms()
    events = generate_events(random.Random(23), start_ms=base, duration_ms=120_000, count=600)
    late = [event.model_copy(update={"event_id": f"late-{event.event_id}"}) for event in events[:20]]
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers})
    for event in events + late:  # events arriving out of any order count all the same in a replay
        producer.produce(settings.kafka_events_topic, event.to_kafka_value(), key=event.user_id)
    assert producer.flush(30) == 0
    from_ms, to_ms = base + 30_000, base + 90_000
    expected = in_range(expected_windows(events + late, parse_window_specs("30s/10s")), from_ms, to_ms)

    plan = plan_replay(settings, from_ms, to_ms, "30s/10s", HOUR_MS)
    assert plan.events_to_read == len(events) + len(late)
    replay(settings, plan)
    assert stored(settings) == expected
    total = f"{len(events) + len(late):,}"
    assert f"done: read {total} of {total} records" in capsys.readouterr().out

    # A range deleted from PostgreSQL comes back; a second run changes nothing.
    run_sql(settings.postgres_dsn, f'DELETE FROM "{pg_schema}".metrics WHERE window_start < '
                                   f"'epoch'::timestamptz + {from_ms + 30_000} * interval '1 millisecond'")
    assert len(stored(settings)) < len(expected)
    replay(settings, plan)
    replay(settings, plan)
    assert stored(settings) == expected

    # Another window definition: that spec's windows are written beside the others.
    replay(settings, plan_replay(settings, from_ms, to_ms, "1m/1m", HOUR_MS))
    minutes = in_range(expected_windows(events + late, parse_window_specs("1m/1m")), from_ms, to_ms)
    assert stored(settings) == {**expected, **minutes}


def test_replay_with_breakdowns_writes_the_oracle_windows_of_each_type_and_value(
    infra: Infra, make_topic: Callable[..., str], pg_schema: str, flink_rest_url: str,
) -> None:
    """The breakdown aggregation, which then also gives each event type's windows, in the batch job."""
    settings = replay_settings(infra, make_topic(partitions=2), pg_schema, flink_rest_url,
                               breakdown_properties="country", breakdown_max_values=2)
    base = base_time_ms()
    events = generate_events(random.Random(29), start_ms=base, duration_ms=60_000, count=300,
                             countries=("DE", "FR", "US"))
    events += [Event(event_id="no-country", event_type="click", user_id="u-none", value=2.0,
                     timestamp=base + 15_000, properties={})]
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers})
    for event in events:
        producer.produce(settings.kafka_events_topic, event.to_kafka_value(), key=event.user_id)
    assert producer.flush(30) == 0
    from_ms, to_ms = base, base + 60_000
    specs = parse_window_specs("30s/10s")
    windows = [*expected_windows(events, specs).values(),
               *expected_breakdown_windows(events, specs, ("country",), 2).values()]
    expected = {window.identity: window for window in windows if from_ms <= window.window_start < to_ms}

    replay(settings, plan_replay(settings, from_ms, to_ms, "30s/10s", HOUR_MS))
    rows = fetch_rows(settings.postgres_dsn, settings.postgres_schema)
    assert {row.identity: row for row in rows} == expected
    assert len(rows) == len(expected)


def test_a_range_older_than_what_kafka_retains_is_refused_naming_the_earliest_time(
    infra: Infra, make_topic: Callable[..., str], pg_schema: str, flink_rest_url: str, kafka_admin: AdminClient,
) -> None:
    settings = replay_settings(infra, make_topic(partitions=1), pg_schema, flink_rest_url)
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers})
    base = base_time_ms()
    for index in range(4):
        event = Event(event_id=f"e{index}", event_type="click", user_id="u", value=1.0, timestamp=base,
                      properties={})
        producer.produce(settings.kafka_events_topic, event.to_kafka_value(), timestamp=base + index * 60_000)
    assert producer.flush(30) == 0
    # What retention does: the two oldest records are deleted.
    [future] = kafka_admin.delete_records([TopicPartition(settings.kafka_events_topic, 0, 2)]).values()
    future.result(timeout=30)

    with pytest.raises(ReplayRefused, match=r"holds events from \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ on"):
        plan_replay(settings, base, base + 60_000, "30s/10s", HOUR_MS)
    assert plan_replay(settings, base + 120_000, base + 180_000, "30s/10s", 0).events_to_read == 2
