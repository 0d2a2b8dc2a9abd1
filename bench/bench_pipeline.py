"""Whole-pipeline benchmark: events per core-second from HTTP to the window in Redis.

    .venv/bin/python -m bench.bench_pipeline [--events 40000] [--rate 2000] [--json PATH]

Starts its own `python -m track_service` (free port, unique topic) and its own metrics job (unique
consumer group, Redis prefix and name) against the running local stack, sends generated events with
current timestamps over HTTP `/track/batch` at a steady rate, then heartbeats past the last window and
waits until every event is in the 30 s windows in Redis (sum of counts = 3 x events).

CPU is read from /proc/<pid>/stat (utime + stime, plus cutime + cstime of reaped children) before the
first request and after the last window, for the pipeline's processes: our track_service, the Kafka
broker (.run/kafka/kafka.pid), the Flink TaskManager (the live pid of .run/flink/flink-*-taskexecutor.pid)
with its children (the Python UDF workers), and Redis (.run/redis/redis.pid). The same processes serve
other tenants (the lead's demo and tests), so their CPU over an idle baseline period just before the
run is measured too, and a net figure with that baseline rate subtracted is reported beside the gross.
Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Producer

from bench.bench_flink import WINDOWS_PER_EVENT, stored_count_sum
from bench.bench_ingest import track_service
from bench.figures import Row, load_average, number, publish
from bench.processes import supervised_pids, tree_cpu_s
from contracts.settings import load_settings
from flink_service.heartbeat import send_heartbeats
from flink_service.settings import Settings as JobSettings
from harness.flink_job import PrivateJob
from harness.infra import RUN_DIR
from harness.waiting import wait_until
from tools.loadgen import EventGenerator, HttpBatchSender, Traffic, run_load
from track_service.settings import Settings as TrackSettings


@dataclass
class PipelineResult:
    events: int
    rate: float
    send_s: float
    elapsed_s: float
    cpu_s: dict[str, float]
    cpu_s_net_of_idle: dict[str, float]
    idle_cores: dict[str, float]
    cpu_s_total: float
    cpu_s_total_net: float
    events_per_core_s: float
    events_per_core_s_net: float
    load_client_cpu_s: float
    load_before: float
    load_after: float
    other_running_jobs: int

    def summary_rows(self) -> list[Row]:
        parts = ", ".join(f"{name.split()[0]} {used:.0f}" for name, used in self.cpu_s.items())
        return [[f"Whole pipeline ({self.events:,} events at {self.rate:,.0f}/s over HTTP)",
                 number(self.events_per_core_s, " events/core-s"),
                 f"net of idle baseline {number(self.events_per_core_s_net, ' events/core-s')}", "",
                 f"CPU s: {parts}"]]  # fmt: skip


@dataclass
class Measured:
    name: str
    roots: list[int]

    def cpu_s(self) -> float:
        return sum(tree_cpu_s(root) for root in self.roots)


def pipeline_components(track_pid: int) -> list[Measured]:
    components = [
        Measured("track_service", [track_pid]),
        Measured("kafka", supervised_pids("kafka")),
        Measured("flink taskmanager + python workers", supervised_pids("taskmanager")),
        Measured("redis", supervised_pids("redis")),
    ]
    missing = [component.name for component in components if not component.roots]
    if missing:
        raise SystemExit(f"no live pid for {', '.join(missing)} under {RUN_DIR}: is the local stack running?")
    return components


def snapshot(components: list[Measured]) -> dict[str, float]:
    return {component.name: component.cpu_s() for component in components}


def run(events: int, rate: float, batch_size: int, concurrency: int, baseline_s: float) -> PipelineResult:
    job = PrivateJob.create(load_settings(JobSettings), 3, owner="bench", window_specs="30s/10s")
    try:
        job.submit()
        job.wait_tasks_running()
        with track_service(load_settings(TrackSettings), job.topic) as (service, url):
            components = pipeline_components(service.proc.pid)
            self_cpu = time.process_time()

            # Idle baseline: the same processes with our job and service running but no traffic of ours.
            load_before = load_average()
            idle_before, idle_started = snapshot(components), time.monotonic()
            time.sleep(baseline_s)
            idle_after, idle_s = snapshot(components), time.monotonic() - idle_started
            idle_rate = {name: (idle_after[name] - idle_before[name]) / idle_s for name in idle_before}

            before, started = snapshot(components), time.monotonic()
            generator = EventGenerator(Traffic(seed=3))  # timestamps = now, as live traffic
            sender = HttpBatchSender(url, None, single=False, concurrency=concurrency)
            tally = asyncio.run(run_load(generator, sender, rate=rate, batch_size=batch_size, count=events,
                                         duration_s=None, concurrency=concurrency))  # fmt: skip
            sent_s = time.monotonic() - started
            if tally.accepted != events:
                raise RuntimeError(f"track_service accepted {tally.accepted} of {events} events")
            # Close every window now instead of waiting for the heartbeat service: stamp past the last end.
            send_heartbeats(Producer({"bootstrap.servers": job.settings.kafka_bootstrap_servers}), job.topic,
                            int(time.time() * 1000) + 45_000)
            target = events * WINDOWS_PER_EVENT
            wait_until(lambda: stored_count_sum(job) >= target, 300, f"windows holding {target:,} counts",
                       interval_s=0.5)
            after, elapsed_s = snapshot(components), time.monotonic() - started
            client_cpu_s = time.process_time() - self_cpu
            load_after = load_average()
            other_jobs = job.other_running_jobs()
    finally:
        job.close()

    used = {name: after[name] - before[name] for name in before}
    net = {name: max(used[name] - idle_rate[name] * elapsed_s, 0.0) for name in used}
    total, total_net = sum(used.values()), sum(net.values())
    return PipelineResult(
        events=events, rate=rate, send_s=sent_s, elapsed_s=elapsed_s, cpu_s=used, cpu_s_net_of_idle=net,
        idle_cores=idle_rate, cpu_s_total=total, cpu_s_total_net=total_net, events_per_core_s=events / total,
        events_per_core_s_net=events / total_net if total_net else float("nan"), load_client_cpu_s=client_cpu_s,
        load_before=load_before, load_after=load_after, other_running_jobs=other_jobs,
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--rate", type=float, default=2000, help="events/s sent (0: as fast as possible)")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4, help="batch requests in flight")
    parser.add_argument("--baseline-seconds", type=float, default=10, help="idle period measured first")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args()
    publish(run(args.events, args.rate, args.batch_size, args.concurrency, args.baseline_seconds), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
