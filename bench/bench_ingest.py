"""Ingestion benchmark: events/s through /track and /track/batch vs a raw confluent-kafka produce loop.

    .venv/bin/python -m bench.bench_ingest [--events 150000] [--single-events 3000] [--batch-size 500]

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
import json
import os
import platform
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.lean_http import LeanHttpSender  # noqa: E402
from contracts.events import encode_event  # noqa: E402
from contracts.settings import load_settings  # noqa: E402
from tools.loadgen import EventGenerator, Tally, Traffic, run_load  # noqa: E402
from track_service.settings import Settings  # noqa: E402


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

    def acked(started: float) -> Any:
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_service(settings: Settings, topic: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "KAFKA_EVENTS_TOPIC": topic, "TRACK_PORT": str(port), "TRACK_HOST": "127.0.0.1",
           "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers, "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "track_service"], env=env, cwd=REPO_ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise SystemExit("track_service exited during start")
        time.sleep(0.2)
    process.terminate()
    raise SystemExit("track_service did not become healthy within 60s")


def through_service(settings: Settings, topic: str, events: list[dict[str, Any]], single: bool,
                    batch_size: int, concurrency: int) -> Tally:
    process, url = start_service(settings, topic)
    try:
        sender = LeanHttpSender(url, single=single)
        return asyncio.run(run_load(Pregenerated(events), sender, rate=0, batch_size=batch_size,
                                    count=len(events), duration_s=None, concurrency=concurrency))
    finally:
        process.terminate()
        process.wait(30)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{system}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=150_000, help="events for the raw and batch runs")
    parser.add_argument("--single-events", type=int, default=3_000, help="events for the /track run")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4, help="batch requests in flight")
    parser.add_argument("--single-concurrency", type=int, default=8, help="/track requests in flight")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON (for bench.run_all)")
    args = parser.parse_args()
    settings = load_settings(Settings)
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    topics = {name: f"bench-{name}-{uuid.uuid4().hex[:8]}" for name in ("raw", "batch", "single")}
    for future in admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)
                                       for topic in topics.values()]).values():
        future.result(timeout=30)
    events = make_events(args.events)
    try:
        raw = raw_produce(settings, topics["raw"], events)
        batch = through_service(settings, topics["batch"], events, False, args.batch_size, args.concurrency)
        single = through_service(settings, topics["single"], events[:args.single_events], True, 1,
                                 args.single_concurrency)
    finally:
        for future in admin.delete_topics(list(topics.values())).values():
            future.result(timeout=30)

    command = "python -m bench.bench_ingest " + " ".join(sys.argv[1:])
    print(f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n- machine: {machine()}\n"
          f"- broker: {settings.kafka_bootstrap_servers} (local stack, 1 KRaft node)\n- command: `{command.strip()}`\n")
    print("| path | events | failed | events/s | vs raw | p50 accept ms | p99 accept ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, tally in (("raw confluent-kafka loop", raw),
                        (f"POST /track/batch ({args.batch_size}/request, {args.concurrency} in flight)", batch),
                        (f"POST /track ({args.single_concurrency} in flight)", single)):
        print(f"| {name} | {tally.accepted} | {tally.failed} | {tally.rate:,.0f} | {tally.rate / raw.rate:.0%} | "
              f"{tally.percentile_ms(0.5):.1f} | {tally.percentile_ms(0.99):.1f} |")
    if args.json:
        figures = {name: {"accepted": tally.accepted, "failed": tally.failed, "events_per_s": tally.rate,
                          "p50_ms": tally.percentile_ms(0.5), "p99_ms": tally.percentile_ms(0.99)}
                   for name, tally in (("raw", raw), ("batch", batch), ("single", single))}
        args.json.write_text(json.dumps({"command": command.strip(), "load_after": os.getloadavg()[0],
                                         "batch_size": args.batch_size, "concurrency": args.concurrency, **figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
