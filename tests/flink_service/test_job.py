"""The metrics job on the real Flink cluster, Kafka and Redis, checked against the Python oracle.

Event time is driven by the test: events are stamped ten minutes in the past and heartbeats move
the watermark, so windows close when the test says, not when the wall clock does.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from contracts.events import MAX_ABS_VALUE, Event, encode_event, now_ms
from contracts.redis_keys import parse_skipped
from contracts.settings import to_env
from contracts.window_results import PERCENTILES, WindowMetrics
from contracts.windows import parse_window_specs
from flink_service.settings import Settings
from flink_service.submit import stop as stop_job
from flink_service.submit import submit
from harness.flink_job import PrivateJob
from harness.infra import RUN_DIR, Infra, local_flink, unique_name
from harness.kafka import committed_offsets, end_offsets
from harness.stores import fetch_rows
from harness.waiting import wait_until
from harness.windows import UpdatesCollector
from sync_service.settings import Settings as SyncSettings
from sync_service.worker import SyncWorker
from tests.oracle import expected_breakdown_windows, expected_windows, generate_events, percentile_rank_ok

pytestmark = pytest.mark.flink

GARBAGE = [
    b"not json at all",
    b"\xff\xfe binary",
    b"[1, 2, 3]",
    b'{"event_type": "click", "value": 1, "timestamp": 1719392400000}',  # no user_id
    b'{"event_type": "click", "user_id": "u", "value": "lots", "timestamp": 1719392400000}',
    b'{"event_type": "Bad Type!", "user_id": "u", "value": 1, "timestamp": 1719392400000}',
    b'{"event_type": "click", "user_id": "u", "value": 1, "timestamp": "yesterday"}',
    b'{"event_type": "click", "user_id": "u", "value": 1, "timestamp": 4102444800000}',  # year 2100
    b'{"event_type": "click", "user_id": "u", "value": 1, "timestamp": 12}',  # 1970
]
# What the ledger says of one copy of GARBAGE: (reason, event type) -> records.
GARBAGE_LEDGER = {("bad_json", None): 3, ("bad_user_id", "click"): 1, ("bad_value", "click"): 1,
                  ("bad_event_type", None): 1, ("bad_timestamp", "click"): 3}


def base_time_ms() -> int:
    """Ten minutes ago, on a minute boundary: every window of the test lies in the past."""
    now = now_ms()
    return now - now % 60_000 - 600_000


def skipped_records(job: PrivateJob) -> int:
    return job.metric_total("__Writer.numRecordsIn", contains="skipped_records")


def infra_env(infra: Infra) -> dict[str, Any]:
    """Settings fields pointing a service at the test's infrastructure."""
    return {name.lower(): value for name, value in infra.service_env().items()}


def ledger_totals(job: PrivateJob) -> dict[tuple[str, str | None], int]:
    """The job's ledger of skipped records in Redis: (reason, event type) -> count."""
    fields: dict[str, str] = job.redis_client.hgetall(job.keys.skipped_total)  # type: ignore[assignment]
    return {(count.reason, count.event_type): count.count for count in parse_skipped(fields)}


def committed_values(bootstrap: str, topic: str, partitions: int, expected: int) -> list[bytes]:
    """The committed records of a transactional topic, once `expected` of them are there (and a second more)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("group"), "log_level": 3,
                         "isolation.level": "read_committed", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in range(partitions)])
    values: list[bytes] = []

    def read() -> bool:
        values.extend(m.value() or b"" for m in consumer.consume(500, timeout=0.5) if m.error() is None)
        return len(values) >= expected

    try:
        wait_until(read, 60, f"{expected} records in {topic}")
        values.extend(m.value() or b"" for m in consumer.consume(500, timeout=1.0) if m.error() is None)
    finally:
        consumer.close()
    return values


def assert_matches_oracle(job: PrivateJob, events: list[Event], window_specs: str, percentiles: bool = True) -> None:
    expected = expected_windows(events, parse_window_specs(window_specs))
    if not percentiles:
        unset = dict.fromkeys(("p50", "p95", "p99"))
        expected = {key: window.model_copy(update=unset) for key, window in expected.items()}
    found = job.wait_for_windows(len(expected))
    assert sorted(found) == sorted(expected), "windows missing or extra"
    mismatched = {key: (found[key], expected[key]) for key in expected if found[key] != expected[key]}
    assert not mismatched


@pytest.mark.parametrize("parallelism", [1, 2])
def test_windows_match_the_oracle_and_late_events_are_dropped(
    start_job: Callable[..., PrivateJob], parallelism: int
) -> None:
    """Also scaled out: two source subtasks share three partitions, each with its own watermark."""
    partitions = 2 if parallelism == 1 else 3
    job = start_job(partitions=partitions, flink_parallelism=parallelism)
    vertices = job.cluster.get_json(f"/jobs/{job.job_id}")["vertices"]
    assert max(vertex["parallelism"] for vertex in vertices) == parallelism
    collector = UpdatesCollector(job.redis_client, job.keys.updates_channel)
    collector.start()
    rng = random.Random(7)
    base = base_time_ms()
    on_time_a = generate_events(rng, start_ms=base, duration_ms=60_000, count=400)
    job.produce(on_time_a)
    job.heartbeat(base + 60_000)
    # The window [base+20s, base+50s) closing proves the watermark passed base+50s...
    wait_until(lambda: (job.keys.prefix and any(k[2] == base + 20_000 for k in job.redis_windows())), 90,
               "the first windows to close")
    # ...so these events, whose every window ended by base+40s, are late and must be dropped.
    late = generate_events(rng, start_ms=base, duration_ms=10_000, count=30)
    job.produce(late)
    on_time_b = generate_events(rng, start_ms=base + 60_000, duration_ms=30_000, count=200)
    job.produce(on_time_b)
    job.heartbeat(base + 200_000)

    assert_matches_oracle(job, on_time_a + on_time_b, "30s/10s")
    wait_until(lambda: skipped_records(job) == len(late), 30, f"{len(late)} late records counted")
    # The late events are in the dead-letter topic, unchanged, each once; the ledger counts them per type.
    dead_letters = committed_values(job.settings.kafka_bootstrap_servers, job.settings.kafka_late_topic,
                                    job.settings.kafka_topic_partitions, len(late))
    assert sorted(dead_letters) == sorted(event.to_kafka_value() for event in late)
    late_per_type = Counter(event.event_type for event in late)
    wait_until(lambda: ledger_totals(job) == {("late", name): n for name, n in late_per_type.items()}, 30,
               "the late events in the ledger")
    # Each completed checkpoint commits the job's offsets to its consumer group: the group shows its lag.
    bootstrap, topic = job.settings.kafka_bootstrap_servers, job.settings.kafka_events_topic
    wait_until(lambda: committed_offsets(bootstrap, job.settings.kafka_consumer_group, topic, partitions)
               == end_offsets(bootstrap, topic, partitions), 60, "the job's offsets committed up to the end")

    expected = expected_windows(on_time_a + on_time_b, parse_window_specs("30s/10s"))
    wait_until(lambda: len(collector.messages) >= len(expected), 30, "every window published")
    collector.stop()
    published = {message.key: message for message in collector.messages}
    assert len(collector.messages) == len(published), "a window was published twice"
    assert published == expected

    # Submitting again does not start a second copy.
    assert submit(job.settings) == job.job_id
    assert [j.job_id for j in job.cluster.running_jobs(job.settings.flink_job_name)] == [job.job_id]


def test_allowed_lateness_corrects_windows_and_only_too_late_events_are_dead_letters(
    start_job: Callable[..., PrivateJob], pg_schema: str, infra: Infra,
) -> None:
    """ALLOWED_LATENESS_S=60: an event behind the watermark by less updates its windows again (Redis upsert, a new
    message), PostgreSQL gets the final values once; one further behind is dropped, counted and dead-lettered."""
    job = start_job(allowed_lateness_s=60)
    collector = UpdatesCollector(job.redis_client, job.keys.updates_channel)
    collector.start()
    rng = random.Random(29)
    base = base_time_ms()
    on_time = generate_events(rng, start_ms=base, duration_ms=60_000, count=300)
    job.produce(on_time)
    # The live watermark passes base+95s, the final one base+35s (5 s + 60 s behind).
    job.heartbeat(base + 100_000)
    live_windows = len(expected_windows(on_time, parse_window_specs("30s/10s")))  # all end by base+90s

    def every_live_window() -> dict[tuple[str, str, int], WindowMetrics] | None:
        windows = job.redis_windows()
        return windows if len(windows) == live_windows else None

    first = wait_until(every_live_window, 90, "every window of the events so far")
    late_but_allowed = generate_events(rng, start_ms=base + 40_000, duration_ms=10_000, count=40)
    too_late = generate_events(rng, start_ms=base, duration_ms=10_000, count=20)
    job.produce(late_but_allowed + too_late)
    job.heartbeat(base + 300_000)

    # The windows exist already: wait for their corrected values, not their number.
    expected = expected_windows(on_time + late_but_allowed, parse_window_specs("30s/10s"))
    wait_until(lambda: job.redis_windows() == expected, 90, "the corrected windows")
    corrected = {key for key in first if first[key] != expected[key]}
    assert corrected, "some windows the live branch wrote were corrected"
    wait_until(lambda: {m.key for m in collector.messages} >= set(expected), 30, "every window published")
    collector.stop()
    last = {message.key: message for message in collector.messages}
    assert last == expected, "the last message of each window is its final value"
    published = Counter(message.key for message in collector.messages)
    assert all(published[key] >= 2 for key in corrected), "a corrected window is published again"
    dead_letters = committed_values(job.settings.kafka_bootstrap_servers, job.settings.kafka_late_topic,
                                    job.settings.kafka_topic_partitions, len(too_late))
    assert sorted(dead_letters) == sorted(event.to_kafka_value() for event in too_late)
    too_late_per_type = Counter(event.event_type for event in too_late)
    wait_until(lambda: ledger_totals(job) == {("late", name): n for name, n in too_late_per_type.items()}, 30,
               "the too-late events in the ledger")
    # The sync worker moves the final values, each once.
    async def sync_once() -> None:
        sync = SyncWorker(SyncSettings(**infra_env(infra), redis_key_prefix=job.keys.prefix,
                                       postgres_schema=pg_schema, allowed_lateness_s=60))
        try:
            await sync.run_cycle()
        finally:
            await sync.close()

    asyncio.run(sync_once())
    assert {row.key: row for row in fetch_rows(infra.postgres_dsn, pg_schema)} == expected


def test_garbage_records_are_skipped_and_counted(start_job: Callable[..., PrivateJob]) -> None:
    job = start_job()
    rng = random.Random(11)
    base = base_time_ms()
    events = generate_events(rng, start_ms=base, duration_ms=40_000, count=200)
    # On time, but |value| beyond contracts.events.MAX_ABS_VALUE: skipped as bad_value, never summed.
    garbage = [*GARBAGE, encode_event("too-big", "click", "u", -1.5 * MAX_ABS_VALUE, base + 5_000, {})]
    job.produce(events[:100], extra_raw=garbage)
    job.produce(events[100:], extra_raw=garbage)
    job.heartbeat(base + 120_000)

    assert_matches_oracle(job, events, "30s/10s")
    assert job.cluster.job(job.job_id)["state"] == "RUNNING"
    wait_until(lambda: skipped_records(job) == 2 * len(garbage), 30,
               f"{2 * len(garbage)} skipped records counted")
    # The ledger tells the reasons apart (and none of it is late); the value beyond the bound is bad_value.
    expected_ledger = {key: 2 * count for key, count in GARBAGE_LEDGER.items()}
    expected_ledger[("bad_value", "click")] += 2
    wait_until(lambda: ledger_totals(job) == expected_ledger, 30, f"the ledger to read {expected_ledger}")


def test_two_window_specs_at_once_printed_results_and_percentiles_off(start_job: Callable[..., PrivateJob]) -> None:
    """With breakdowns, which then give every window of both specs, none with percentiles."""
    specs = "30s/10s,1m/20s"
    job = start_job(window_specs=specs, print_results=True, window_percentiles=False, breakdown_properties="country")
    rng = random.Random(5)
    base = base_time_ms()
    events = generate_events(rng, start_ms=base, duration_ms=90_000, count=300, countries=("DE", "FR"))
    job.produce(events)
    job.heartbeat(base + 240_000)
    assert_matches_oracle(job, events, specs, percentiles=False)
    assert_breakdowns_match_the_oracle(job, events, specs, percentiles=False)
    assert set(cast(list[str], job.redis_client.zrange(job.keys.window_sizes, 0, -1))) == {"30s", "1m"}
    some_window = next(iter(job.redis_windows().values())).to_json()
    wait_until(lambda: any(some_window in log.read_text(errors="replace")
                           for log in (RUN_DIR / "flink" / "log").glob("*taskexecutor*")),
               30, "the printed window in the TaskManager's log")


def test_taskmanager_killed_after_checkpoint_recovers_without_loss_or_doubles(
    start_job: Callable[..., PrivateJob],
) -> None:
    job = start_job(flink_checkpoint_interval_s=2, breakdown_properties="country")
    rng = random.Random(3)
    base = base_time_ms()
    events = generate_events(rng, start_ms=base, duration_ms=120_000, count=1200, countries=("DE", "FR", "US"))
    first, rest = events[:400], events[400:]
    job.produce(first)
    job.heartbeat(base + 30_000)
    wait_until(lambda: job.redis_windows(), 90, "first windows written")
    wait_until(lambda: job.cluster.completed_checkpoints(job.job_id) >= 1, 60, "a completed checkpoint")

    def keep_producing() -> None:
        for start in range(0, len(rest), 50):
            job.produce(rest[start:start + 50])
            stop.wait(0.2)

    stop = threading.Event()
    producer_thread = threading.Thread(target=keep_producing)
    producer_thread.start()
    victim = local_flink().supervisor.pid("taskmanager")
    assert victim, "no supervised TaskManager found to kill"
    os.kill(victim, signal.SIGKILL)  # supervisord starts another one
    producer_thread.join(60)
    job.heartbeat(base + 300_000)

    wait_until(lambda: job.cluster.job(job.job_id)["state"] == "RUNNING", 120, "job running again")
    assert_matches_oracle(job, events, "30s/10s")
    assert_breakdowns_match_the_oracle(job, events, "30s/10s")


def assert_breakdowns_match_the_oracle(job: PrivateJob, events: list[Event], window_specs: str,
                                       percentiles: bool = True) -> None:
    settings = job.settings
    expected = expected_breakdown_windows(events, parse_window_specs(window_specs), settings.breakdowns,
                                          settings.breakdown_max_values)
    if not percentiles:
        expected = {key: window.model_copy(update=dict.fromkeys(("p50", "p95", "p99"))) for key, window in
                    expected.items()}

    def enough() -> dict[tuple[str, str, int, str, str], WindowMetrics] | None:
        windows = job.redis_breakdown_windows()
        return windows if len(windows) >= len(expected) else None

    found = wait_until(enough, 90, f"{len(expected)} breakdown windows in Redis")
    assert sorted(found) == sorted(expected), "breakdown windows missing or extra"
    assert {key: window for key, window in found.items() if window != expected[key]} == {}


def test_breakdowns_by_a_property_match_the_oracle(start_job: Callable[..., PrivateJob]) -> None:
    """Two values kept apart per window, the rest folded into (other); no string value goes to (none).

    The windows of each event type then come from the same aggregation as the first property's values
    (flink_service/sql.py, breakdown_query): they must still equal the oracle's, events without a country (or
    with a non-string one) included, and come once although a second property is broken down too."""
    job = start_job(breakdown_properties="country,plan", breakdown_max_values=2)
    rng = random.Random(17)
    base = base_time_ms()
    events = generate_events(rng, start_ms=base, duration_ms=60_000, count=300, countries=("DE", "FR", "US", "NL"))
    odd = [{"country": 7}, {}, {"country": ""}, {"country": "x" * 300}, {"plan": "pro"}, {"country": "DE:Berlin"}]
    events += [Event(event_id=f"odd{i}", event_type="click", user_id=f"odd-{i}", value=1.0,
                     timestamp=base + 60_000 + i * 1000, properties=properties) for i, properties in enumerate(odd)]
    job.produce(events)
    job.heartbeat(base + 180_000)
    assert_matches_oracle(job, events, "30s/10s")
    assert_breakdowns_match_the_oracle(job, events, "30s/10s")
    assert job.redis_client.zrange(job.keys.breakdown_properties("click"), 0, -1) == ["country", "plan"]


@pytest.mark.parametrize("breakdown", ["", "country"])
def test_percentiles_of_a_large_window_are_within_the_stated_rank_error(
    start_job: Callable[..., PrivateJob], breakdown: str,
) -> None:
    """Up to 200 events a window's percentiles are exact (the oracle tests above); beyond, the sketch estimates.
    With a breakdown the event type's sketch is the merge of its values' sketches: the same bound holds."""
    job = start_job(breakdown_properties=breakdown)
    rng = random.Random(13)
    base = base_time_ms()
    values = [round(rng.lognormvariate(3, 1), 3) for _ in range(3000)]
    events = [Event(event_id=f"p{i}", event_type="purchase", user_id=f"u{i % 97}", value=value,
                    timestamp=base + i * 3, properties={"country": f"c{i % 7}"}) for i, value in enumerate(values)]
    job.produce(events)
    job.heartbeat(base + 120_000)
    windows = job.wait_for_windows(3)  # the slice [base, base + 10 s) lies in three 30 s windows
    ordered = sorted(values)
    for window in windows.values():
        assert (window.count, window.unique_users) == (len(values), 97)
        for name, quantile in PERCENTILES:
            estimate = getattr(window, name)
            assert percentile_rank_ok(ordered, quantile, estimate), f"{name}={estimate} of {window.key}"


def test_settings_reject_bad_window_specs() -> None:
    with pytest.raises(ValueError, match="whole multiple"):
        Settings(window_specs="30s/7s")


def test_a_job_stopped_with_a_savepoint_resumes_with_its_open_windows(
    start_job: Callable[..., PrivateJob], tmp_path: Path, flink_env: dict[str, str]
) -> None:
    job = start_job(flink_savepoint_dir=f"file://{tmp_path}/savepoints")
    rng = random.Random(9)
    base = base_time_ms()
    before = generate_events(rng, start_ms=base, duration_ms=60_000, count=300)
    after = generate_events(rng, start_ms=base + 60_000, duration_ms=30_000, count=150)
    job.produce(before)
    job.heartbeat(base + 60_000)
    wait_until(lambda: any(key[2] == base + 20_000 for key in job.redis_windows()), 90, "the first windows")

    # Windows [base+40s, base+70s) and [base+50s, base+80s) are open: their events so far are only in state.
    [location] = stop_job(job.settings)
    assert job.cluster.job(job.job_id)["state"] == "FINISHED"
    # Flink writes the URI as file:/path.
    assert location.startswith(f"file:{tmp_path}/savepoints/{job.settings.flink_job_name}/savepoint-")

    job.job_id = submit(job.settings, extra_env={**to_env(job.settings), **flink_env})
    assert job.cluster.restored_from(job.job_id) == location
    job.produce(after)
    job.heartbeat(base + 200_000)
    assert_matches_oracle(job, before + after, "30s/10s")
