"""Sizing the scaled Compose stack: events/s per core of each component under steady load, and how
ingestion scales with track_service replicas.

    make bench-scale                         # engine, images, this, `down -v`; rewrites docs/docker.md's tables
    .venv/bin/python -m bench.bench_scale [--rates 500,1000] [--measure-s 60] [--record docs/docker.md]

Brings the scaled stack up (docker-compose.yml + docker-compose.scale.yml; its own project, free host
ports), then for each rate runs the load generator (`tools.loadgen`, in its own process on the host, with
the stack's write key) through the gateway, waits `--warmup-s`, and over `--measure-s` reads from the
Docker engine each container's CPU time (cgroup usage) and memory, and from Kafka how many events
arrived (the end offsets of the events topic). A component's events/s per core is the events that
arrived per second divided by the cores its containers used meanwhile (all replicas together): the
CPU one core spends per event, so `rate / that` is how many cores the component needs at `rate`. The
job keeps up when its consumer group's lag stays small (reported).

Then the scaling of ingestion: with 1, then 2 track_service replicas behind the gateway (`--scale`,
alternated `--rounds` times), as many events/s as a lean HTTP client (bench/lean_http.py, in this
process, batches of `--scale-batch` with `--scale-concurrency` requests in flight) gets acknowledged
through the gateway in `--scale-s` seconds, beside the reference measured in the same run: a raw
confluent-kafka producer from the host into a topic of the same three brokers (3 replicas,
min.insync.replicas=2, acks=all, idempotent: what track_service's producer does), pre-serialized, in a
tight loop. Everything shares the machine's cores (and other programs run there), so the figures are
of contended cores. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from bench.bench_ingest import Pregenerated, raw_produce
from bench.figures import load_average, machine, number, ratio
from bench.lean_http import LeanHttpSender
from contracts.events import now_ms
from harness.compose_stack import ComposeStack, brought_up, container_address, docker
from harness.infra import REPO_ROOT, unique_name
from harness.kafka import create_topics, delete_topics
from harness.waiting import wait_until
from tools.loadgen import EventGenerator, Tally, Traffic, run_load
from track_service.settings import Settings as TrackSettings

# Component -> the Compose services whose containers it sums.
COMPONENTS: dict[str, tuple[str, ...]] = {
    "gateway (HAProxy)": ("gateway",),
    "track_service": ("track_service",),
    "Kafka brokers": ("kafka", "kafka-2", "kafka-3"),
    "Flink TaskManagers (job)": ("taskmanager",),
    "Flink JobManager": ("jobmanager",),
    "Redis": ("redis",),
    "sync_service": ("sync_service",),
    "PostgreSQL": ("postgres",),
    "api_service (no readers)": ("api_service",),
    "flink-heartbeat": ("flink-heartbeat",),
}
MARKERS = ("<!-- sizing:begin -->", "<!-- sizing:end -->")
SCALING_MARKERS = ("<!-- ingest-scaling:begin -->", "<!-- ingest-scaling:end -->")
MAX_EVENTS_PER_RUN = 600_000  # pre-generated events of one run (about 0.6 GB)
JOB_GROUP = "flink-event-metrics"  # the job's consumer group (KAFKA_CONSUMER_GROUP's default)


@dataclass
class Usage:
    cpu_s: float  # CPU seconds used so far (all replicas)
    memory_mb: float  # memory in use now (all replicas)
    replicas: int


@dataclass
class RateResult:
    rate: float  # events/s asked of the load generator
    arrived_per_s: float  # events/s that reached Kafka over the measurement
    lag_events: int  # the job's consumer lag at the end (committed at checkpoints, every 10 s)
    components: dict[str, tuple[int, float, float]] = field(default_factory=dict)  # replicas, cores, memory MB

    def per_core(self, component: str) -> float:
        cores = self.components[component][1]
        return self.arrived_per_s / cores if cores > 0 else float("nan")


def engine() -> httpx.Client:
    """The Docker engine's API over its socket (DOCKER_HOST=unix://...)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    assert host.startswith("unix://"), f"DOCKER_HOST={host}: a unix socket is needed"
    return httpx.Client(transport=httpx.HTTPTransport(uds=host.removeprefix("unix://")), base_url="http://docker",
                        timeout=30)


def container_usage(client: httpx.Client, container_id: str) -> tuple[float, float]:
    """(CPU seconds used since start, memory in use in MB) of one container, from its cgroup."""
    stats = client.get(f"/containers/{container_id}/stats", params={"stream": "false", "one-shot": "true"}).json()
    memory = stats.get("memory_stats", {})
    in_use = memory.get("usage", 0) - memory.get("stats", {}).get("inactive_file", 0)
    return stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9, in_use / 1e6


def containers_of(stack: ComposeStack) -> dict[str, list[str]]:
    """Component -> the ids of its containers (listed once: `compose ps` is slow beside a stats read)."""
    return {component: [cid for service in services for cid in stack.container_ids(service)]
            for component, services in COMPONENTS.items()}


def usage(client: httpx.Client, containers: dict[str, list[str]]) -> dict[str, Usage]:
    result = {}
    for component, ids in containers.items():
        readings = [container_usage(client, cid) for cid in ids]
        result[component] = Usage(sum(r[0] for r in readings), sum(r[1] for r in readings), len(ids))
    return result


def topic_offsets(bootstrap: str, topic: str = "events") -> tuple[int, int]:
    """(sum of the end offsets of `topic`, the job's consumer lag)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": JOB_GROUP, "enable.auto.commit": False,
                         "log_level": 3})
    try:
        numbers = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        partitions = [TopicPartition(topic, p) for p in numbers]
        ends = [consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions]
        committed = consumer.committed(partitions, timeout=10)
        lag = sum(end - max(tp.offset, 0) for end, tp in zip(ends, committed, strict=True))
        return sum(ends), lag
    finally:
        consumer.close()


def measure(stack: ComposeStack, rate: float, warmup_s: float, measure_s: float) -> RateResult:
    bootstrap = ",".join(f"127.0.0.1:{stack.ports[name]}"
                         for name in ("KAFKA_HOST_PORT", "KAFKA_2_HOST_PORT", "KAFKA_3_HOST_PORT"))
    containers, key = containers_of(stack), stack.write_key()
    # Runs on past the measurement (the readings take a few seconds on a busy machine).
    loadgen = subprocess.Popen(
        [sys.executable, "-m", "tools.loadgen", "--via", "http", "--url", stack.url("TRACK_PORT"),
         "--rate", str(rate), "--duration", str(warmup_s + measure_s + 30), "--api-key", key,
         "--batch-size", "100", "--concurrency", "8", "--seed", str(time.time_ns() % 1_000_000_007), "--quiet"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with engine() as client:
        time.sleep(warmup_s)
        offsets_at, (offsets_before, _) = time.monotonic(), topic_offsets(bootstrap)
        usage_at, before = time.monotonic(), usage(client, containers)
        time.sleep(measure_s)
        offsets_s, (offsets_after, lag) = time.monotonic() - offsets_at, topic_offsets(bootstrap)
        usage_s, after = time.monotonic() - usage_at, usage(client, containers)
    output, _ = loadgen.communicate(timeout=measure_s + 120)
    print(f"[bench-scale] {rate:g} events/s: {output.strip().splitlines()[-1] if output.strip() else ''}")
    assert loadgen.returncode == 0, f"the load generator failed:\n{output[-2000:]}"
    result = RateResult(rate, (offsets_after - offsets_before) / offsets_s, lag)
    for component in COMPONENTS:
        cores = (after[component].cpu_s - before[component].cpu_s) / usage_s
        assert cores >= 0, f"a container of {component} restarted during the measurement: measure again"
        result.components[component] = (after[component].replicas, cores, after[component].memory_mb)
    return result


def brokers_bootstrap(stack: ComposeStack) -> str:
    return ",".join(f"127.0.0.1:{stack.ports[name]}"
                    for name in ("KAFKA_HOST_PORT", "KAFKA_2_HOST_PORT", "KAFKA_3_HOST_PORT"))


@dataclass
class ScalingResult:
    raw: Tally  # the reference: a raw producer into the same brokers
    runs: list[tuple[int, Tally]] = field(default_factory=list)  # (track_service replicas, what was acknowledged)

    def best(self, replicas: int) -> Tally:
        return max((tally for n, tally in self.runs if n == replicas), key=lambda tally: tally.rate)


def fresh_events(count: int, expected_rate: float) -> list[dict[str, Any]]:
    """`count` new events (new event_ids: none is a duplicate), stamped from now on at about the rate they
    will be sent, so the job counts them (none late)."""
    generator = EventGenerator(Traffic(seed=time.time_ns() % 1_000_000_007, start_ms=now_ms() + 5_000,
                                       rate=expected_rate))
    return [generator.next_event() for _ in range(count)]


def set_track_replicas(stack: ComposeStack, replicas: int) -> None:
    """Scale track_service to `replicas` and wait until the gateway sends to exactly those."""
    stack.run("up", "-d", "--wait", "--no-deps", "--scale", f"track_service={replicas}", "track_service",
              timeout_s=300)
    addresses = {container_address(cid) for cid in stack.container_ids("track_service")}

    def gateway_uses_exactly_them() -> bool:
        with httpx.Client(base_url=stack.url("TRACK_PORT"), timeout=10) as client:
            served = {client.get("/health").headers.get("X-Served-By", "").rsplit(":", 1)[0] for _ in range(12)}
        return served == addresses

    wait_until(gateway_uses_exactly_them, 60, f"the gateway sending to {replicas} track_service replica(s)",
               interval_s=1)


def ingest_through_gateway(stack: ComposeStack, key: str, events: list[dict[str, Any]], batch_size: int,
                           concurrency: int, duration_s: float) -> Tally:
    sender = LeanHttpSender(stack.url("TRACK_PORT"), single=False, api_key=key)
    tally = asyncio.run(run_load(Pregenerated(events), sender, rate=0, batch_size=batch_size, count=len(events),
                                 duration_s=duration_s, concurrency=concurrency))
    assert tally.rejected == 0, f"{tally.rejected} events rejected: {tally.line()}"
    return tally


def measure_scaling(stack: ComposeStack, rounds: int, duration_s: float, batch_size: int,
                    concurrency: int) -> ScalingResult:
    bootstrap = brokers_bootstrap(stack)
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    create_topics(admin, [topic], partitions=3, replication=3, config={"min.insync.replicas": "2"})
    try:
        raw = raw_produce(TrackSettings(kafka_bootstrap_servers=bootstrap), topic, fresh_events(100_000, 10_000))
    finally:
        delete_topics(admin, [topic])
    print(f"[bench-scale] raw producer into the 3 brokers: {raw.line()}", flush=True)
    result = ScalingResult(raw)
    key = stack.write_key()
    # The fastest rate seen so far sizes the next run's events: enough for all of it, within the bound (a
    # run that sends them all ends early: the table gives each run's length).
    fastest = max(raw.rate, 1000.0)
    for _ in range(rounds):
        for replicas in (1, 2):
            set_track_replicas(stack, replicas)
            events = fresh_events(min(int(fastest * duration_s * 1.5), MAX_EVENTS_PER_RUN), fastest)
            tally = ingest_through_gateway(stack, key, events, batch_size, concurrency, duration_s)
            print(f"[bench-scale] {replicas} track_service replica(s): {tally.line()}", flush=True)
            result.runs.append((replicas, tally))
            fastest = max(fastest, tally.rate)
    set_track_replicas(stack, 2)
    return result


def scaling_table(result: ScalingResult, batch_size: int, concurrency: int) -> str:
    one, two = result.best(1), result.best(2)
    raw = result.raw.rate
    lines = ["| ingestion through the gateway | events/s acknowledged | vs raw producer | vs 1 replica "
             "| p99 per request |",
             "|---|---:|---:|---:|---:|",
             f"| raw producer (reference: host to the 3 brokers, acks=all) | {number(raw)} | 1.00 | | |"]
    for replicas, tally in ((1, one), (2, two)):
        runs = sum(n == replicas for n, _ in result.runs)
        lines.append(f"| {replicas} track_service replica{'s' if replicas > 1 else ''} (best of {runs}) "
                     f"| {number(tally.rate)} | {ratio(tally.rate / raw)} | {ratio(tally.rate / one.rate)} "
                     f"| {tally.percentile_ms(0.99):.0f} ms |")
    every = "; ".join(f"{n}: {number(t.rate)} in {t.elapsed_s:.0f} s" for n, t in result.runs)
    lines.append("")
    lines.append(f"Batches of {batch_size} events, {concurrency} requests in flight; every run in order "
                 f"(replicas: events/s in how long): {every}.")
    return "\n".join(lines)


def table(results: list[RateResult]) -> str:
    rates = " | ".join(f"cores at {r.arrived_per_s:,.0f}/s | events/s per core" for r in results)
    lines = [f"| component | containers | {rates} | memory |",
             "|---|---:|" + "---:|---:|" * len(results) + "---:|"]
    for component in COMPONENTS:
        replicas, _, memory = results[-1].components[component]
        cells = []
        for result in results:
            cores = result.components[component][1]
            per_core = result.per_core(component)
            scales = component.startswith(("gateway", "track", "Kafka", "Flink Task", "Redis", "sync", "PostgreSQL"))
            cells.append(f"{cores:.2f} | {number(per_core) if scales else '-'}")
        lines.append(f"| {component} | {replicas} | {' | '.join(cells)} | {memory:,.0f} MB |")
    total = [sum(r.components[c][1] for c in COMPONENTS) for r in results]
    lines.append("| **all together** | | " + " | ".join(
        f"**{cores:.2f}** | **{number(r.arrived_per_s / cores)}**" for cores, r in zip(total, results, strict=True))
        + " | |")
    return "\n".join(lines)


def record(paths: list[Path], sections: dict[tuple[str, str], str]) -> None:
    """Write each section between its markers, in every file of `paths` that has them (each somewhere)."""
    written = set()
    for path in paths:
        content = path.read_text()
        for (begin, end), text in sections.items():
            pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
            found = pattern.search(content)
            if found:
                content = f"{content[:found.start()]}{begin}\n{text}\n{end}{content[found.end():]}"
                written.add(begin)
        path.write_text(content)
    missing = [begin for begin, _ in sections if begin not in written]
    assert not missing, f"no file of {[str(p) for p in paths]} has the markers {missing}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_scale", description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="500,1000", help="events/s, comma-separated, one measurement each")
    parser.add_argument("--warmup-s", type=float, default=30)
    parser.add_argument("--measure-s", type=float, default=60)
    parser.add_argument("--rounds", type=int, default=2, help="runs at 1 then 2 track_service replicas, alternated")
    parser.add_argument("--scale-s", type=float, default=20, help="seconds of each scaling run")
    parser.add_argument("--scale-batch", type=int, default=500, help="events per request in the scaling runs")
    parser.add_argument("--scale-concurrency", type=int, default=8, help="requests in flight in the scaling runs")
    parser.add_argument("--record", type=Path, action="append", default=[],
                        help="write the tables between their markers in this file (repeatable: docs/docker.md, "
                             "docs/benchmarks/scale.md)")
    args = parser.parse_args(argv)
    project = os.environ.get("COMPOSE_PROJECT_NAME", unique_name("sizing", "ra")) + "-scale"
    with brought_up(ComposeStack.scaled(project), "the scaled stack") as stack:
        results = [measure(stack, float(rate), args.warmup_s, args.measure_s) for rate in args.rates.split(",")]
        containers = len(docker("ps", "-q").split())
        load_after_sizing = load_average()
        scaling = measure_scaling(stack, args.rounds, args.scale_s, args.scale_batch, args.scale_concurrency)
    info = machine()
    lags = ", ".join(f"{r.lag_events:,} at {r.arrived_per_s:,.0f}/s" for r in results)
    text = (f"Measured {datetime.now(UTC):%d %b %Y} with `make bench-scale` on {info['nproc']} cores "
            f"({info['cpu']}) shared with {containers} containers and other programs (load average "
            f"{load_after_sizing:.1f} at the end); {args.measure_s:g} s per rate after {args.warmup_s:g} s of warm-up; "
            f"the job's consumer lag at the end: {lags} events.\n\n{table(results)}")
    scaling_text = (f"Measured {datetime.now(UTC):%d %b %Y} with `make bench-scale` on the same stack, right after the "
                    f"table above (load average {load_average():.1f} at the end).\n\n"
                    f"{scaling_table(scaling, args.scale_batch, args.scale_concurrency)}")
    print(text + "\n\n" + scaling_text)
    if args.record:
        record(args.record, {MARKERS: text, SCALING_MARKERS: scaling_text})
        print(f"[bench-scale] recorded in {', '.join(map(str, args.record))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
