"""Ingestion benchmark: events/s through /track and /track/batch vs a raw confluent-kafka produce loop.

    .venv/bin/python -m bench.bench_ingest [--events 600000] [--single-events 3000] [--batch-size 500]

All three runs use the same broker (KAFKA_BOOTSTRAP_SERVERS), the same durable producer settings
(idempotent, acks=all) and the same pre-generated events, each into its own fresh topic. The service
runs as its own process (`python -m track_service`); the HTTP load client (bench/lean_http.py, cheap
so that the service, not the client, sets the rate on a small machine) runs on loopback. Latency
is per accept: the ack of one message (raw), one request (/track/batch, /track). Prints a Markdown
report for docs/benchmarks/ingest.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient

from bench.figures import Row, number, publish, ratio
from bench.lean_http import LeanHttpSender
from contracts.events import encode_event
from contracts.settings import load_settings
from harness.infra import free_port, unique_name
from harness.kafka import create_topics, delete_topics
from harness.services import ServiceProcess, stop_all
from harness.stores import delete_prefix
from tools.loadgen import EventGenerator, Tally, Traffic, run_load
from track_service.settings import Settings


@dataclass
class PathFigures:
    accepted: int
    failed: int
    events_per_s: float
    p50_ms: float
    p99_ms: float

    @classmethod
    def of(cls, tally: Tally) -> PathFigures:
        return cls(tally.accepted, tally.failed, tally.rate, tally.percentile_ms(0.5), tally.percentile_ms(0.99))


@dataclass
class IngestResult:
    batch_size: int
    concurrency: int
    single_concurrency: int
    raw: PathFigures
    batch: PathFigures
    single: PathFigures
    batch_shared: PathFigures | None = None  # TRACK_DEDUP_SHARED=true: the event_ids remembered in Redis

    def summary_rows(self) -> list[Row]:
        raw = f"raw producer {number(self.raw.events_per_s, ' events/s')}"
        rows = [
            ["HTTP ingest: POST /track/batch", number(self.batch.events_per_s, " events/s"), raw,
             ratio(self.batch.events_per_s / self.raw.events_per_s),
             f"{self.batch_size} events/request, {self.concurrency} in flight, p99 accept {self.batch.p99_ms:.0f} ms"],
            ["HTTP ingest: POST /track", number(self.single.events_per_s, " events/s"), raw,
             ratio(self.single.events_per_s / self.raw.events_per_s), f"p99 accept {self.single.p99_ms:.0f} ms"],
        ]  # fmt: skip
        if self.batch_shared:
            shared = self.batch_shared
            rows.insert(1, ["HTTP ingest: POST /track/batch, TRACK_DEDUP_SHARED=true",
                            number(shared.events_per_s, " events/s"), raw,
                            ratio(shared.events_per_s / self.raw.events_per_s),
                            f"event_ids remembered in Redis (several replicas), p99 accept {shared.p99_ms:.0f} ms"])
        return rows


class Pregenerated(EventGenerator):
    """Events made before the clock starts, so the client's generation cost is not measured."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    def batches(self, size: int, total: int | None) -> Iterator[list[dict[str, Any]]]:
        end = len(self.events) if total is None else min(total, len(self.events))
        for start in range(0, end, size):
            yield self.events[start:min(start + size, end)]


def make_events(count: int) -> list[dict[str, Any]]:
    generator = EventGenerator(Traffic(seed=42, start_ms=1_719_392_400_000, rate=10_000))
    return [generator.next_event() for _ in range(count)]


def raw_produce(settings: Settings, topic: str, events: list[dict[str, Any]]) -> Tally:
    """The ceiling: pre-serialized values produced in a tight loop, acks counted by callback."""
    producer = Producer(settings.producer_config())
    payloads = [(encode_event(**event), event["user_id"]) for event in events]
    tally = Tally()

    def acked(started: float) -> Callable[[KafkaError | None, Message | None], None]:
        def report(error: KafkaError | None, _: Message | None) -> None:
            if error is None:
                tally.accepted += 1
                tally.latencies_s.append(time.perf_counter() - started)
            else:
                tally.failed += 1
        return report

    tally.started = time.monotonic()
    for value, key in payloads:
        while True:
            try:
                producer.produce(topic, value, key=key, on_delivery=acked(time.perf_counter()))
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
        tally.sent += 1
    producer.flush(60)
    tally.finished = time.monotonic()
    return tally


@contextmanager
def track_service(settings: Settings, topic: str, **env: str) -> Iterator[tuple[ServiceProcess, str]]:
    """`python -m track_service` on a free port producing to `topic`, healthy, and its base URL; its event_ids
    are remembered in Redis under a key prefix of its own, deleted afterwards."""
    port = free_port()
    prefix = unique_name("bench")
    env = {"KAFKA_EVENTS_TOPIC": topic, "TRACK_PORT": str(port), "TRACK_HOST": "127.0.0.1",
           "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers, "LOG_LEVEL": "WARNING",
           "REDIS_KEY_PREFIX": prefix, **env}
    log_file = Path(tempfile.gettempdir()) / f"bench-track-{port}.log"
    service = ServiceProcess.start("track_service", env, log_file)
    url = f"http://127.0.0.1:{port}"
    try:
        yield service.wait_healthy(f"{url}/health", 60), url
    finally:
        stop_all([service], timeout_s=30)
        with redis.Redis.from_url(settings.redis_url) as client:
            delete_prefix(client, prefix)


def through_service(settings: Settings, topic: str, events: list[dict[str, Any]], single: bool,
                    batch_size: int, concurrency: int, **env: str) -> Tally:
    with track_service(settings, topic, **env) as (_, url):
        sender = LeanHttpSender(url, single=single)
        return asyncio.run(run_load(Pregenerated(events), sender, rate=0, batch_size=batch_size,
                                    count=len(events), duration_s=None, concurrency=concurrency))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600_000,
                        help="events for the raw and batch runs (150K made each run last under a second: the raw "
                        "reference varied 215-410K events/s)")
    parser.add_argument("--single-events", type=int, default=3_000, help="events for the /track run")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4, help="batch requests in flight")
    parser.add_argument("--single-concurrency", type=int, default=8, help="/track requests in flight")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON (for bench.run_all)")
    args = parser.parse_args()
    settings = load_settings(Settings)
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    topics = {name: f"bench-{name}-{uuid.uuid4().hex[:8]}" for name in ("raw", "batch", "shared", "single")}
    create_topics(admin, topics.values(), partitions=3)
    events = make_events(args.events)
    try:
        raw = raw_produce(settings, topics["raw"], events)
        batch = through_service(settings, topics["batch"], events, False, args.batch_size, args.concurrency)
        shared = through_service(settings, topics["shared"], events, False, args.batch_size, args.concurrency,
                                 TRACK_DEDUP_SHARED="true")
        single = through_service(settings, topics["single"], events[:args.single_events], True, 1,
                                 args.single_concurrency)
    finally:
        delete_topics(admin, list(topics.values()))
    publish(IngestResult(args.batch_size, args.concurrency, args.single_concurrency, PathFigures.of(raw),
                         PathFigures.of(batch), PathFigures.of(single), PathFigures.of(shared)), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
