"""Every benchmark in bench/, each beside its reference, in one go; rewrites docs/benchmarks.md.

    .venv/bin/python -m bench.run_all [--quick]      (make bench)

Runs, one after the other against the running local stack (each on its own topics, key prefixes,
schemas and jobs): HTTP ingest vs a raw producer, the metrics job's drain vs Kafka's consumer perf test
plus its emission lag, the sync worker vs raw COPY, the API's requests/s and p99 and WebSocket fan-out,
and whole-pipeline events per core-second. Modest sizes keep the whole run under ~10 minutes; each
script takes bigger ones on its own (see docs/benchmarks/*.md). Prints one table. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DOC = REPO_ROOT / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Benchmark:
    module: str
    args: list[str]
    quick_args: list[str]
    page: str  # docs/benchmarks/<page>.md
    rows: Callable[[dict[str, Any]], list[list[str]]]


def _n(value: float, unit: str = "") -> str:
    return f"{value:,.0f}{unit}"


def _ratio(value: float) -> str:
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"


def ingest_rows(r: dict[str, Any]) -> list[list[str]]:
    raw = r["raw"]["events_per_s"]
    return [
        ["HTTP ingest: POST /track/batch", _n(r["batch"]["events_per_s"], " events/s"),
         f"raw producer {_n(raw, ' events/s')}", _ratio(r["batch"]["events_per_s"] / raw),
         f"{r['batch_size']} events/request, {r['concurrency']} in flight, p99 accept {r['batch']['p99_ms']:.0f} ms"],
        ["HTTP ingest: POST /track", _n(r["single"]["events_per_s"], " events/s"),
         f"raw producer {_n(raw, ' events/s')}", _ratio(r["single"]["events_per_s"] / raw),
         f"p99 accept {r['single']['p99_ms']:.0f} ms"],
    ]  # fmt: skip


def flink_rows(r: dict[str, Any]) -> list[list[str]]:
    drain, perf, live = r["drain"], r["consumer_perf"], r["live"]
    rows = [
        [f"Aggregation: job drains {drain['events']:,} events", _n(drain["events_per_s"], " events/s"),
         f"ConsumerPerformance {_n(perf['fetch_msg_per_s'], ' msg/s')}", _ratio(r["job_vs_consumer_perf"]),
         f"{drain['drain_s']:.0f} s from RUNNING, first window at {drain['first_window_after_s']:.0f} s; "
         f"{_n(drain['events_per_s_after_first_window'], ' events/s')} after it"],
    ]  # fmt: skip
    if live:
        lag = f"p50 {live['lag_p50_ms']:.0f} ms, p99 {live['lag_p99_ms']:.0f} ms"
        crude = f"p50 {live['lag_from_window_end_plus_delay_p50_ms']:.0f} ms"
        rows.append([f"Emission lag ({live['windows']} windows)", lag, "watermark passing window end", "",
                     f"{live['rate']} events/s live; from window_end + delay: {crude}"])
    return rows


def sync_rows(r: dict[str, Any]) -> list[list[str]]:
    return [[f"Sync Redis -> PostgreSQL ({r['windows']:,} windows)", _n(r["sync_rows_per_s"], " rows/s"),
             f"raw COPY {_n(r['raw_copy_rows_per_s'], ' rows/s')}",
             _ratio(r["sync_rows_per_s"] / r["raw_copy_rows_per_s"]), ""]]  # fmt: skip


def api_rows(r: dict[str, Any]) -> list[list[str]]:
    rows = [
        [f"API GET {name}", _n(r[name]["requests_per_s"], " req/s"), "", "",
         f"p50 {r[name]['p50_ms']:.0f} ms, p99 {r[name]['p99_ms']:.0f} ms, {r[name]['errors']:.0f} errors"]
        for name in ("/metrics/realtime", "/metrics/history")
    ]  # fmt: skip
    ws = r["websocket"]
    rows.append([f"WebSocket fan-out ({ws['clients']:.0f} clients x {ws['messages']:.0f})",
                 _n(ws["delivered_per_s"], " msg/s delivered"), "", "",
                 f"p50 {ws['p50_ms']:.0f} ms, p99 {ws['p99_ms']:.0f} ms publish -> client"])  # fmt: skip
    return rows


def pipeline_rows(r: dict[str, Any]) -> list[list[str]]:
    parts = ", ".join(f"{name.split()[0]} {used:.0f}" for name, used in r["cpu_s"].items())
    return [[f"Whole pipeline ({r['events']:,} events at {r['rate']:,.0f}/s over HTTP)",
             _n(r["events_per_core_s"], " events/core-s"),
             f"net of idle baseline {_n(r['events_per_core_s_net'], ' events/core-s')}", "",
             f"CPU s: {parts}"]]  # fmt: skip


BENCHMARKS = [
    Benchmark("bench.bench_ingest", ["--events", "150000", "--single-events", "3000"],
              ["--events", "5000", "--single-events", "300"], "ingest", ingest_rows),
    Benchmark("bench.bench_flink", ["--events", "300000", "--live-seconds", "60"],
              ["--events", "20000", "--live-seconds", "25"], "flink", flink_rows),
    Benchmark("bench.bench_sync", ["--windows", "50000"], ["--windows", "5000"], "sync", sync_rows),
    Benchmark("bench.bench_api", ["--seconds", "5", "--ws-clients", "20", "--ws-messages", "1000"],
              ["--seconds", "2", "--ws-clients", "5", "--ws-messages", "200"], "api", api_rows),
    Benchmark("bench.bench_pipeline", ["--events", "30000", "--rate", "1500"],
              ["--events", "3000", "--rate", "1000", "--baseline-seconds", "3"], "pipeline", pipeline_rows),
]  # fmt: skip


def machine() -> dict[str, str]:
    cpu, memory = "unknown CPU", "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))  # fmt: skip
        kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))  # fmt: skip
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "memory": memory,
            "system": f"{platform.system()} {platform.release()}", "python": platform.python_version()}  # fmt: skip


@dataclass
class Outcome:
    bench: Benchmark
    command: str
    rows: list[list[str]]
    load: str
    seconds: float
    error: str | None = None


def run_one(bench: Benchmark, quick: bool, workdir: Path) -> Outcome:
    args = bench.quick_args if quick else bench.args
    out = workdir / f"{bench.page}.json"
    command = f".venv/bin/python -m {bench.module} {' '.join(args)}"
    print(f"== {command}", file=sys.stderr, flush=True)
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", bench.module, *args, "--json", str(out)], cwd=REPO_ROOT,
                          capture_output=True, text=True)  # fmt: skip
    seconds = time.monotonic() - started
    load = f"{load_before:.1f} / {os.getloadavg()[0]:.1f}"
    if done.returncode != 0 or not out.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return Outcome(bench, command, [], load, seconds, error=" / ".join(tail) or f"exit {done.returncode}")
    print(done.stdout, file=sys.stderr, flush=True)
    return Outcome(bench, command, bench.rows(json.loads(out.read_text())), load, seconds)


def table(outcomes: list[Outcome]) -> str:
    lines = ["| benchmark | figure | reference (same run) | ratio | notes | load avg before / after |",
             "|---|---:|---|---:|---|---|"]  # fmt: skip
    for outcome in outcomes:
        if outcome.error:
            error = outcome.error.replace("|", "/")
            lines.append(f"| `{outcome.bench.module}` | failed | | | {error} | {outcome.load} |")
        for row in outcome.rows:
            lines.append("| " + " | ".join([*row, outcome.load]) + " |")
    return "\n".join(lines)


def document(outcomes: list[Outcome], info: dict[str, str], started: str, total_s: float, quick: bool) -> str:
    commands = "\n".join(outcome.command for outcome in outcomes)
    pages = ", ".join(f"[{o.bench.page}](benchmarks/{o.bench.page}.md)" for o in outcomes)
    return f"""# Benchmarks

Written by `make bench` (`.venv/bin/python -m bench.run_all{" --quick" if quick else ""}`): every benchmark in
`bench/` beside its reference, on the same machine, in one run of {total_s / 60:.1f} minutes. Modest sizes;
the per-topic pages ({pages}) explain each method, give bigger runs and read the figures.

- date: {started}
- machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM, {info['system']}, Python {info['python']}
- the local stack (Kafka, Flink JobManager + TaskManager, Redis, PostgreSQL) shares those CPUs with the
  benchmark clients and with whatever else runs; the load average before / after each benchmark is in the
  last column. On a busy 2-core box the figures move by a factor of two between runs: compare rows of one
  run, and re-run on a quiet machine before sizing anything.

## Commands

```bash
{commands}
```

## Results

{table(outcomes)}

Ratio = figure / reference. The references are ceilings for the same work without the product's
guarantees: a tight produce loop of pre-serialised events (no HTTP, no validation), Kafka's own consumer
reading the topic the job drains (no parsing, windows or Redis), one COPY into an index-free table (no
Redis, no upsert). Emission lag and events per core-second are explained in
[flink.md](benchmarks/flink.md) and [pipeline.md](benchmarks/pipeline.md).
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the harness, figures meaningless")
    parser.add_argument("--no-doc", action="store_true", help="print the table only; leave docs/benchmarks.md")
    args = parser.parse_args()
    info = machine()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        outcomes = [run_one(bench, args.quick, Path(workdir)) for bench in BENCHMARKS]
    total_s = time.monotonic() - began
    print(f"\n{info['nproc']} CPUs ({info['cpu']}), {info['memory']}; {started}; {total_s / 60:.1f} min\n")
    print(table(outcomes))
    if not args.no_doc:
        DOC.write_text(document(outcomes, info, started, total_s, args.quick))
        print(f"\nwrote {DOC.relative_to(REPO_ROOT)}")
    return 1 if any(outcome.error for outcome in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
