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
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.bench_flink import WINDOWS_PER_EVENT, BenchJob, load_average  # noqa: E402
from bench.bench_ingest import start_service  # noqa: E402
from contracts.settings import load_settings  # noqa: E402
from flink_service.heartbeat import send_heartbeats  # noqa: E402
from tools.loadgen import EventGenerator, HttpBatchSender, Traffic, run_load  # noqa: E402
from track_service.settings import Settings as TrackSettings  # noqa: E402

RUN_DIR = Path(os.environ.get("RUN_DIR", REPO_ROOT / ".run"))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from `state` on; comm may hold spaces


def process_cpu_s(pid: int) -> float:
    """CPU seconds of one process, including the children it has reaped (0 when gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return (utime + stime + cutime + cstime) / CLOCK_TICKS


def descendants(root: int) -> list[int]:
    """`root` and every live process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_cpu_s(root: int) -> float:
    """CPU seconds of a process tree: live members plus what they reaped (no double counting)."""
    return sum(process_cpu_s(pid) for pid in descendants(root))


def live_pids(pid_file_glob: str) -> list[int]:
    """Pids listed in matching pid files that still run (the stack appends a line per restart)."""
    pids = []
    for path in RUN_DIR.glob(pid_file_glob):
        for line in path.read_text().split():
            if line.isdigit() and Path(f"/proc/{line}").exists():
                pids.append(int(line))
    return sorted(set(pids))


@dataclass
class Component:
    name: str
    roots: list[int]

    def cpu_s(self) -> float:
        return sum(tree_cpu_s(root) for root in self.roots)


def pipeline_components(track_pid: int) -> list[Component]:
    components = [
        Component("track_service", [track_pid]),
        Component("kafka", live_pids("kafka/*.pid")),
        Component("flink taskmanager + python workers", live_pids("flink/flink-*-taskexecutor.pid")),
        Component("redis", live_pids("redis/*.pid")),
    ]
    missing = [component.name for component in components if not component.roots]
    if missing:
        raise SystemExit(f"no live pid for {', '.join(missing)} under {RUN_DIR}: is the local stack running?")
    return components


def snapshot(components: list[Component]) -> dict[str, float]:
    return {component.name: component.cpu_s() for component in components}


def wait_for_counts(job: BenchJob, target: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while (found := job.window_count_sum()) < target:
        if time.monotonic() > deadline:
            raise TimeoutError(f"windows hold {found:,} of {target:,} counts after {timeout_s:.0f}s")
        time.sleep(0.5)


def run(events: int, rate: float, batch_size: int, concurrency: int, baseline_s: float) -> dict[str, Any]:
    job = BenchJob.create("pipeline")
    track_settings = load_settings(TrackSettings)
    process = None
    try:
        job.submit()
        job.wait_tasks_running()
        process, url = start_service(track_settings, job.topic)
        components = pipeline_components(process.pid)
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
        wait_for_counts(job, events * WINDOWS_PER_EVENT, timeout_s=300)
        after, elapsed_s = snapshot(components), time.monotonic() - started
        client_cpu_s = time.process_time() - self_cpu
        load_after = load_average()
        other_jobs = job.other_running_jobs()
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)
        job.close()

    used = {name: after[name] - before[name] for name in before}
    net = {name: max(used[name] - idle_rate[name] * elapsed_s, 0.0) for name in used}
    total, total_net = sum(used.values()), sum(net.values())
    return {
        "events": events,
        "rate": rate,
        "send_s": sent_s,
        "elapsed_s": elapsed_s,
        "cpu_s": used,
        "cpu_s_net_of_idle": net,
        "idle_cores": idle_rate,
        "cpu_s_total": total,
        "cpu_s_total_net": total_net,
        "events_per_core_s": events / total,
        "events_per_core_s_net": events / total_net if total_net else float("nan"),
        "load_client_cpu_s": client_cpu_s,
        "load_before": load_before,
        "load_after": load_after,
        "other_running_jobs": other_jobs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--rate", type=float, default=2000, help="events/s sent (0: as fast as possible)")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4, help="batch requests in flight")
    parser.add_argument("--baseline-seconds", type=float, default=10, help="idle period measured first")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args()
    result = run(args.events, args.rate, args.batch_size, args.concurrency, args.baseline_seconds)
    result["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result["command"] = "python -m bench.bench_pipeline " + " ".join(sys.argv[1:])
    print(f"date: {result['date']}; {os.cpu_count()} cores; load avg {result['load_before']:.1f} -> "
          f"{result['load_after']:.1f}; other RUNNING Flink jobs: {result['other_running_jobs']}")
    print(f"command: {result['command']}")
    print(f"{args.events:,} events at {args.rate:,.0f}/s over HTTP /track/batch, last window after "
          f"{result['elapsed_s']:.1f} s\n")
    print("| process | CPU s | idle baseline (cores) | CPU s net of idle |\n|---|---:|---:|---:|")
    for name, used in result["cpu_s"].items():
        print(f"| {name} | {used:.1f} | {result['idle_cores'][name]:.2f} | {result['cpu_s_net_of_idle'][name]:.1f} |")
    print(f"| **total** | {result['cpu_s_total']:.1f} | | {result['cpu_s_total_net']:.1f} |")
    print(f"\nevents per core-second: {result['events_per_core_s']:,.0f} gross, "
          f"{result['events_per_core_s_net']:,.0f} net of idle (load client, not counted: "
          f"{result['load_client_cpu_s']:.1f} CPU s)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
