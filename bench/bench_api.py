"""Benchmark of api_service on loopback (not a timed test): what one API worker serves while ingestion runs.

The HTTP load comes from wrk (Debian's package, installed on first use when missing and run as root), a C
load generator in its own process; the WebSocket clients run in processes of their own (bench/ws_clients.py).
While wrk runs, track_service ingests --ingest-rate events/s sent by tools.loadgen (each its own process).
The reference in the same run: the same API worker serving a static file (its ceiling on this machine).
Issue 14's targets: /metrics/realtime >= 3,000 req/s with p99 < 20 ms; /metrics/history with 100 entries
>= 2,000 req/s with p99 < 30 ms; fan-out to 200 clients with publish -> client p99 < 100 ms.

    .venv/bin/python -m bench.bench_api [--seconds 15] [--threads 2] [--connections 16] [--ingest-rate 1000]
        [--ws-clients 200] [--ws-processes 2] [--ws-messages 100] [--ws-rate 20]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import redis
from confluent_kafka.admin import AdminClient

from api_service.settings import Settings
from bench.figures import Row, number, percentile, publish
from contracts.docs_pages import ASSETS_PATH
from contracts.events import now_ms
from contracts.redis_keys import RedisKeys, upsert_windows
from harness.infra import free_port, unique_name
from harness.kafka import delete_topics
from harness.services import ServiceProcess, stop_all
from harness.stores import delete_prefix, drop_schemas, insert_history
from harness.windows import make_window

EVENT_TYPE = "bench"
FAN_OUT_TYPE = "bench-fan"
HISTORY_ROWS = 20_000
UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass
class HttpFigures:
    path: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass
class FanOutFigures:
    clients: int
    processes: int
    messages: int
    delivered_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float


@dataclass
class ApiResult:
    reference: HttpFigures
    realtime: HttpFigures
    history: HttpFigures
    newest: HttpFigures
    ingest_rate: float
    websocket: FanOutFigures

    def summary_rows(self) -> list[Row]:
        ref = self.reference
        rows = [[f"API GET {http.path} (wrk, ingesting {self.ingest_rate:.0f} ev/s)",
                 number(http.requests_per_s, " req/s"), f"static file {number(ref.requests_per_s, ' req/s')}",
                 f"{http.requests_per_s / ref.requests_per_s:.2f}" if ref.requests_per_s else "",
                 f"p50 {http.p50_ms:.1f} ms, p99 {http.p99_ms:.1f} ms, {http.errors} errors"]
                for http in (self.realtime, self.history, self.newest)]  # fmt: skip
        ws = self.websocket
        rows.append([f"WebSocket fan-out ({ws.clients} clients in {ws.processes} processes x {ws.messages})",
                     number(ws.delivered_per_s, " msg/s delivered"), "", "",
                     f"publish -> client p50 {ws.p50_ms:.0f} ms, p99 {ws.p99_ms:.0f} ms"])  # fmt: skip
        return rows


def wrk_binary() -> str:
    """wrk, installed from Debian's package when missing (as root), else a clear error."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("bench_api needs wrk: `apt-get install wrk` (Debian's package)")
    print("installing wrk (Debian's package)", file=sys.stderr, flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or "wrk"


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * UNITS_MS[match.group(2)]


def add_wrk_arguments(parser: argparse.ArgumentParser, seconds: int) -> None:
    """--seconds, --threads and --connections of a wrk run (2 threads, 16 connections by default)."""
    parser.add_argument("--seconds", type=int, default=seconds, help="duration of each wrk run")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")


def parse_wrk(path: str, output: str) -> HttpFigures:
    """Requests/s, p50, p99 and non-2xx/socket errors from `wrk --latency` output."""
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))  # wrk may pad with a space
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, socket_errors.groups())) if socket_errors
                                                          else 0)
    if set(latency) != {"50", "99"}:
        raise ValueError(f"no latency percentiles in wrk's report for {path}:\n{output}")
    return HttpFigures(path, rate, _ms(latency["50"]), _ms(latency["99"]), errors)


def run_wrk(wrk: str, url: str, path: str, args: argparse.Namespace) -> HttpFigures:
    done = subprocess.run([wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s", "--latency",
                           url + path], capture_output=True, text=True, check=True)  # fmt: skip
    return parse_wrk(path.split("?")[0], done.stdout)


def fan_out(
    ws_url: str, writer: redis.Redis, keys: RedisKeys, args: argparse.Namespace, workdir: Path
) -> FanOutFigures:
    """Publish --ws-messages windows at --ws-rate per second to clients in --ws-processes processes."""
    per_process = args.ws_clients // args.ws_processes
    first = now_ms() // 10_000 * 10_000 + 10_000_000
    upsert_windows(writer, keys, [make_window(FAN_OUT_TYPE, first - 10_000)], 3600)  # each client's snapshot
    outputs = [workdir / f"ws-{n}.jsonl" for n in range(args.ws_processes)]
    clients = [subprocess.Popen(
        [sys.executable, "-m", "bench.ws_clients", "--url", ws_url, "--event-type", FAN_OUT_TYPE,
         "--clients", str(per_process), "--messages", str(args.ws_messages), "--out", str(out)],
        stdout=subprocess.PIPE, text=True) for out in outputs]  # fmt: skip
    for process in clients:
        assert process.stdout is not None and process.stdout.readline().strip() == "READY"
    sent_s: dict[int, float] = {}
    started = time.time()
    for index in range(args.ws_messages):
        window = make_window(FAN_OUT_TYPE, first + index * 10_000, count=index + 1)
        time.sleep(max(0.0, started + index / args.ws_rate - time.time()))
        sent_s[window.window_start] = time.time()
        upsert_windows(writer, keys, [window], 3600)
    for process in clients:
        process.wait(300)
    latencies = [received - sent_s[record["window_start"]]
                 for out in outputs for line in out.read_text().splitlines()
                 for record in [json.loads(line)] for received in record["received_s"]]
    elapsed = max(time.time() - started, 1e-9)
    return FanOutFigures(per_process * args.ws_processes, args.ws_processes, args.ws_messages,
                         len(latencies) / elapsed, percentile(latencies, 0.5) * 1e3,
                         percentile(latencies, 0.99) * 1e3, max(latencies, default=float("nan")) * 1e3)


def seed_windows(writer: redis.Redis, keys: RedisKeys, settings: Settings) -> None:
    """The newest two windows in Redis (what it holds between syncs), HISTORY_ROWS older ones in PostgreSQL."""
    newest = now_ms() // 10_000 * 10_000 - 40_000
    upsert_windows(writer, keys, [make_window(EVENT_TYPE, newest - k * 10_000, 100 + k) for k in range(2)], 3600)
    insert_history(settings.postgres_dsn, settings.postgres_schema,
                   [make_window(EVENT_TYPE, newest - k * 10_000, k) for k in range(2, HISTORY_ROWS + 2)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_wrk_arguments(parser, seconds=15)
    parser.add_argument("--ingest-rate", type=float, default=1000, help="events/s ingested meanwhile (0: none)")
    parser.add_argument("--ws-clients", type=int, default=200)
    parser.add_argument("--ws-processes", type=int, default=2, help="processes the WebSocket clients share")
    parser.add_argument("--ws-messages", type=int, default=100, help="windows published to every client")
    parser.add_argument("--ws-rate", type=float, default=20, help="windows published per second")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON (for bench.run_all)")
    args = parser.parse_args()

    wrk = wrk_binary()
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    api_port, track_port = free_port(), free_port()
    env = {"REDIS_KEY_PREFIX": tag, "POSTGRES_SCHEMA": tag.replace("-", "_"), "API_PORT": str(api_port),
           "API_HOST": "127.0.0.1", "LOG_LEVEL": "WARNING", "WS_CLIENT_QUEUE_SIZE": "4096"}  # fmt: skip
    os.environ.update(env)
    settings = Settings()
    keys = RedisKeys(prefix=settings.redis_key_prefix)
    writer = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    topic = unique_name("topic", owner="bench")
    workdir = Path(tempfile.mkdtemp(prefix=f"{tag}-"))
    url = f"http://127.0.0.1:{api_port}"
    services = [ServiceProcess.start("api_service", env, workdir / "api.log")]
    loadgen: subprocess.Popen[bytes] | None = None
    try:
        seed_windows(writer, keys, settings)
        services[0].wait_healthy(f"{url}/health", 30)
        if args.ingest_rate:  # track_service creates its topic, removed at the end
            track = ServiceProcess.start("track_service", {**env, "TRACK_HOST": "127.0.0.1",
                                                           "TRACK_PORT": str(track_port), "KAFKA_EVENTS_TOPIC": topic},
                                         workdir / "track.log")  # fmt: skip
            services.append(track)
            track.wait_healthy(f"http://127.0.0.1:{track_port}/health", 60)
            loadgen = subprocess.Popen(
                [sys.executable, "-m", "tools.loadgen", "--rate", str(args.ingest_rate), "--duration",
                 str(4 * args.seconds + 60), "--quiet", "--url", f"http://127.0.0.1:{track_port}"],
                stdout=subprocess.DEVNULL, stderr=(workdir / "loadgen.log").open("wb"))
        query = f"event_type={EVENT_TYPE}&window_size=30s&limit=100"
        reference = run_wrk(wrk, url, f"{ASSETS_PATH}/favicon.png", args)
        realtime = run_wrk(wrk, url, f"/metrics/realtime?{query}", args)
        history = run_wrk(wrk, url, f"/metrics/history?{query}&start_time=2000-01-01T00:00:00Z", args)
        newest = run_wrk(wrk, url, f"/metrics?{query}", args)
        if loadgen is not None:
            loadgen.terminate()
            loadgen.wait(30)
        stop_all(services[1:])
        websocket = fan_out(url.replace("http", "ws"), writer, keys, args, workdir)
    finally:
        if loadgen is not None and loadgen.poll() is None:
            loadgen.kill()
        stop_all(services, timeout_s=10)
        delete_prefix(writer, tag)
        writer.close()
        drop_schemas(settings.postgres_dsn, [settings.postgres_schema])
        if args.ingest_rate:
            delete_topics(AdminClient({"bootstrap.servers": settings_bootstrap()}), [topic])
    publish(ApiResult(reference, realtime, history, newest, args.ingest_rate, websocket), args.json)


def settings_bootstrap() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092")


if __name__ == "__main__":
    main()
