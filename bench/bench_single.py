"""Single-event ingest benchmark (issue 20): `POST /track`, one event per request, beside a bare FastAPI echo.

    .venv/bin/python -m bench.bench_single [--seconds 10] [--rounds 2] [--threads 2] [--connections 16]

wrk (Debian's package, installed on first use) runs in its own process with bench/single_event.lua: each
request one small event with an event_id of its own. Its two targets run side by side for the whole run and
are measured in alternate rounds (echo, track_service, echo, ...), so both see the same machine:
- `python -m track_service` with every guarantee (validation, a write key in every request, limits, the shared
  event_id memory in Redis, 202 only after Kafka's ack), producing to a fresh topic, with the settings of the
  environment (e.g. TRACK_LINGER_MS);
- bench/echo_app.py: a bare FastAPI app on the same uvicorn options that parses the body and answers 202.
Issue 20's target: track_service >= 0.5 of the echo's requests/s (stretch 0.8), p99 <= 20 ms at 16
connections. Also reported: the service's CPU per request (robust on a busy machine) and that the topic holds
every event answered 202. Prints a Markdown report for docs/benchmarks/ingest.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import redis
from confluent_kafka.admin import AdminClient

from bench.bench_api import HttpFigures, add_wrk_arguments, parse_wrk, wrk_binary
from bench.figures import Row, number, publish
from bench.processes import tree_cpu_s
from contracts.settings import load_settings
from harness.infra import free_port, unique_name
from harness.kafka import create_topics, delete_topics, end_offsets
from harness.services import ServiceProcess, stop_all
from harness.stores import delete_prefix
from track_service.settings import Settings

LUA_SCRIPT = Path(__file__).with_name("single_event.lua")
WRITE_KEY = "bench-write-key"  # track_service checks it (TRACK_API_KEYS); the echo ignores it


@dataclass
class WrkRun(HttpFigures):
    ok: int  # 2xx answers


@dataclass
class Round:
    echo: WrkRun
    track: WrkRun
    echo_cpu_us: float  # the echo's CPU per request in that round
    track_cpu_us: float  # track_service's CPU (all its processes) per request in that round

    @property
    def ratio(self) -> float:
        return self.track.requests_per_s / self.echo.requests_per_s if self.echo.requests_per_s else float("nan")


@dataclass
class SingleResult:
    threads: int
    connections: int
    seconds: int
    rounds: list[Round]
    answered_202: int  # by track_service, over every round
    published: int  # events in its topic at the end (>= answered_202; requests in flight when wrk stopped add)
    load_average: float

    def median(self, values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    @property
    def ratio(self) -> float:
        return self.median([round_.ratio for round_ in self.rounds])

    def summary_rows(self) -> list[Row]:
        track = self.median([round_.track.requests_per_s for round_ in self.rounds])
        echo = self.median([round_.echo.requests_per_s for round_ in self.rounds])
        p99 = self.median([round_.track.p99_ms for round_ in self.rounds])
        echo_p99 = self.median([round_.echo.p99_ms for round_ in self.rounds])
        cpu = self.median([round_.track_cpu_us for round_ in self.rounds])
        echo_cpu = self.median([round_.echo_cpu_us for round_ in self.rounds])
        return [[
            "HTTP ingest: POST /track, one event per request (wrk)", number(track, " req/s"),
            f"bare FastAPI echo {number(echo, ' req/s')}", f"{self.ratio:.2f}",
            f"{self.connections} connections, p99 {p99:.1f} ms (echo {echo_p99:.1f} ms), "
            f"server CPU {cpu:.0f} us/request (echo {echo_cpu:.0f}), {len(self.rounds)} rounds (median)",
        ]]  # fmt: skip


def answered_2xx(output: str) -> int:
    """Responses wrk read minus the non-2xx ones (socket errors and timeouts are not responses)."""
    completed = re.search(r"(\d+) requests in", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return (int(completed.group(1)) if completed else 0) - (int(non_2xx.group(1)) if non_2xx else 0)


def measured(wrk: str, url: str, server_pid: int, args: argparse.Namespace) -> tuple[WrkRun, float]:
    """One wrk run against `url`: its figures and the server's CPU microseconds per answered request."""
    cpu_before = tree_cpu_s(server_pid)
    done = subprocess.run([wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s", "--latency",
                           "-s", str(LUA_SCRIPT), url, "--", uuid.uuid4().hex[:12], WRITE_KEY],
                          capture_output=True, text=True, check=True)  # fmt: skip
    cpu_s = tree_cpu_s(server_pid) - cpu_before
    try:
        figures = parse_wrk("/track", done.stdout)
    except (AttributeError, KeyError):
        raise SystemExit(f"unexpected wrk report:\n{done.stdout}") from None
    ok = answered_2xx(done.stdout)
    return WrkRun(**vars(figures), ok=ok), cpu_s / max(ok, 1) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_wrk_arguments(parser, seconds=10)
    parser.add_argument("--rounds", type=int, default=2, help="alternate rounds (echo, then track_service)")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON (for bench.run_all)")
    args = parser.parse_args()

    wrk = wrk_binary()
    settings = load_settings(Settings)
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    topic, prefix = unique_name("bench-single"), unique_name("bench")
    create_topics(admin, [topic], partitions=settings.kafka_topic_partitions)
    workdir = Path(tempfile.mkdtemp(prefix="bench-single-"))
    track_port, echo_port = free_port(), free_port()
    track = ServiceProcess.start("track_service", {
        "KAFKA_EVENTS_TOPIC": topic, "TRACK_PORT": str(track_port), "TRACK_HOST": "127.0.0.1",
        "REDIS_KEY_PREFIX": prefix, "LOG_LEVEL": "WARNING", "TRACK_API_KEYS": WRITE_KEY,
    }, workdir / "track.log")  # fmt: skip
    echo = ServiceProcess.start("bench.echo_app", {"ECHO_PORT": str(echo_port)}, workdir / "echo.log")
    track_url, echo_url = f"http://127.0.0.1:{track_port}", f"http://127.0.0.1:{echo_port}"
    rounds: list[Round] = []
    answered = 0
    try:
        track.wait_healthy(f"{track_url}/health", 60)
        echo.wait_healthy(f"{echo_url}/track", 60, status=None)
        for _ in range(args.rounds):
            echo_figures, echo_cpu_us = measured(wrk, echo_url, echo.proc.pid, args)
            track_figures, track_cpu_us = measured(wrk, track_url, track.proc.pid, args)
            answered += track_figures.ok
            rounds.append(Round(echo_figures, track_figures, echo_cpu_us, track_cpu_us))
        load = os.getloadavg()[0]
    finally:
        stop_all([track, echo], timeout_s=30)
        published = end_offsets(settings.kafka_bootstrap_servers, topic, settings.kafka_topic_partitions)
        delete_topics(admin, [topic])
        with redis.Redis.from_url(settings.redis_url) as client:
            delete_prefix(client, prefix)
    if not answered <= published <= answered + args.connections * args.rounds:
        print(f"track_service answered 202 {answered} times but its topic holds {published} events",
              file=sys.stderr)
        return 1
    publish(SingleResult(args.threads, args.connections, args.seconds, rounds, answered, published, load), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
