"""Every benchmark in bench/, each beside its reference, in one go; rewrites docs/benchmarks.md.

    .venv/bin/python -m bench.run_all [--quick]      (make bench)

Runs, one after the other against the running local stack (each on its own topics, key prefixes, schemas and
jobs): HTTP ingest vs a raw producer, POST /track under wrk vs a bare FastAPI echo, the metrics job's drain vs
Kafka's consumer perf test plus its emission lag, the sync worker vs raw COPY, the API's requests/s and p99
and WebSocket fan-out, history over 30 days at auto resolution, and whole-pipeline events per core-second.
Modest sizes keep the whole run under ~10 minutes; each script takes bigger ones on its own (see
docs/benchmarks/*.md). Prints one table. Not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.bench_api import ApiResult
from bench.bench_flink import FlinkResult
from bench.bench_history import HistoryResult
from bench.bench_ingest import IngestResult
from bench.bench_pipeline import PipelineResult
from bench.bench_single import SingleResult
from bench.bench_sync import SyncResult
from bench.figures import Result, Row, machine, read_result, table_line

REPO_ROOT = Path(__file__).resolve().parent.parent
DOC = REPO_ROOT / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Benchmark:
    module: str
    args: list[str]
    quick_args: list[str]
    page: str  # docs/benchmarks/<page>.md
    result: type[Result]  # what the module writes with --json


BENCHMARKS = [
    Benchmark("bench.bench_ingest", ["--events", "600000", "--single-events", "3000"],
              ["--events", "5000", "--single-events", "300"], "ingest", IngestResult),
    Benchmark("bench.bench_single", ["--seconds", "10", "--rounds", "2"], ["--seconds", "2", "--rounds", "1"],
              "ingest", SingleResult),
    Benchmark("bench.bench_flink", ["--events", "300000", "--live-seconds", "60", "--replay"],
              ["--events", "20000", "--live-seconds", "25"], "flink", FlinkResult),
    Benchmark("bench.bench_sync", ["--windows", "50000"], ["--windows", "5000"], "sync", SyncResult),
    Benchmark("bench.bench_api", ["--seconds", "15"],
              ["--seconds", "2", "--ingest-rate", "200", "--ws-clients", "10", "--ws-processes", "1",
               "--ws-messages", "20"], "api", ApiResult),
    Benchmark("bench.bench_history", ["--seconds", "15"], ["--seconds", "2", "--event-types", "1"], "history",
              HistoryResult),
    Benchmark("bench.bench_pipeline", ["--events", "30000", "--rate", "1500"],
              ["--events", "3000", "--rate", "1000", "--baseline-seconds", "3"], "pipeline", PipelineResult),
]  # fmt: skip


@dataclass
class Outcome:
    bench: Benchmark
    command: str
    rows: list[Row]
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
    return Outcome(bench, command, read_result(out, bench.result).summary_rows(), load, seconds)


def table(outcomes: list[Outcome]) -> str:
    lines = ["| benchmark | figure | reference (same run) | ratio | notes | load avg before / after |",
             "|---|---:|---|---:|---|---|"]  # fmt: skip
    for outcome in outcomes:
        if outcome.error:
            error = outcome.error.replace("|", "/")
            lines.append(f"| `{outcome.bench.module}` | failed | | | {error} | {outcome.load} |")
        for row in outcome.rows:
            lines.append(table_line([*row, outcome.load]))
    return "\n".join(lines)


def document(outcomes: list[Outcome], info: dict[str, str], started: str, total_s: float, quick: bool) -> str:
    commands = "\n".join(outcome.command for outcome in outcomes)
    pages = ", ".join(f"[{page}](benchmarks/{page}.md)" for page in dict.fromkeys(o.bench.page for o in outcomes))
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
guarantees: a tight produce loop of pre-serialised events (no HTTP, no validation), a bare FastAPI app
that parses the body and answers 202 (no validation, Kafka, dedup or limits), Kafka's own consumer
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
