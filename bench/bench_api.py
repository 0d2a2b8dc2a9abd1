"""Benchmark of api_service on loopback (not a timed test): HTTP throughput/latency and WebSocket fan-out.

Starts `python -m api_service` against the running local stack with its own Redis key prefix and
PostgreSQL schema, writes the data it reads, and prints a Markdown table. Usage:

    .venv/bin/python -m bench.bench_api [--seconds 10] [--concurrency 16] [--ws-clients 50] [--ws-messages 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis
from websockets.asyncio.client import ClientConnection, connect

from api_service.settings import Settings
from bench.figures import Row, number, percentile, publish
from contracts.events import now_ms
from contracts.redis_keys import RedisKeys, upsert_windows
from harness.infra import free_port
from harness.services import ServiceProcess, stop_all
from harness.stores import delete_prefix, drop_schemas, insert_history
from harness.windows import make_window

EVENT_TYPE = "bench"


@dataclass
class HttpFigures:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass
class FanOutFigures:
    clients: int
    messages: int
    delivered_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    elapsed_s: float


@dataclass
class ApiResult:
    realtime: HttpFigures
    history: HttpFigures
    websocket: FanOutFigures

    def endpoints(self) -> tuple[tuple[str, HttpFigures], ...]:
        return ("/metrics/realtime", self.realtime), ("/metrics/history", self.history)

    def summary_rows(self) -> list[Row]:
        rows = [[f"API GET {name}", number(http.requests_per_s, " req/s"), "", "",
                 f"p50 {http.p50_ms:.0f} ms, p99 {http.p99_ms:.0f} ms, {http.errors:.0f} errors"]
                for name, http in self.endpoints()]  # fmt: skip
        ws = self.websocket
        rows.append([f"WebSocket fan-out ({ws.clients} clients x {ws.messages})",
                     number(ws.delivered_per_s, " msg/s delivered"), "", "",
                     f"p50 {ws.p50_ms:.0f} ms, p99 {ws.p99_ms:.0f} ms publish -> client"])  # fmt: skip
        return rows


async def load_http(url: str, seconds: float, concurrency: int) -> HttpFigures:
    """Requests/s, p50 ms, p99 ms and error count of GET `url` from `concurrency` keep-alive clients."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.get(url)
            latencies.append(time.perf_counter() - started)
            errors += response.status_code != 200

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return HttpFigures(len(latencies) / elapsed, percentile(latencies, 0.5) * 1e3, percentile(latencies, 0.99) * 1e3,
                       errors)


async def fan_out(ws_url: str, writer: redis.Redis, keys: RedisKeys, clients: int, messages: int) -> FanOutFigures:
    """Publish `messages` windows with `clients` connected; delivered messages/s and per-message latency."""
    first_start = now_ms() // 10_000 * 10_000 + 10_000_000
    sent_at: dict[int, float] = {}
    latencies: list[float] = []
    sockets = [await connect(ws_url + f"/live-metrics?event_type={EVENT_TYPE}", max_queue=None) for _ in range(clients)]
    for socket in sockets:  # drain each snapshot (the latest bench window)
        await asyncio.wait_for(socket.recv(), 10)

    async def read(socket: ClientConnection) -> None:
        for _ in range(messages):
            message = json.loads(await socket.recv())
            latencies.append(time.perf_counter() - sent_at[message["window_start"]])

    readers = [asyncio.create_task(read(socket)) for socket in sockets]
    started = time.perf_counter()
    batch = 50
    for offset in range(0, messages, batch):
        windows = [make_window(EVENT_TYPE, first_start + (offset + k) * 10_000, offset + k) for k in range(batch)]
        now = time.perf_counter()
        for item in windows:
            sent_at[item.window_start] = now
        await asyncio.to_thread(upsert_windows, writer, keys, windows, 3600)
        await asyncio.sleep(0)
    await asyncio.wait_for(asyncio.gather(*readers), 300)
    elapsed = time.perf_counter() - started
    for socket in sockets:
        await socket.close()
    return FanOutFigures(clients, messages, clients * messages / elapsed, percentile(latencies, 0.5) * 1e3,
                         percentile(latencies, 0.99) * 1e3, max(latencies) * 1e3, elapsed)


async def measure(url: str, writer: redis.Redis, keys: RedisKeys, args: argparse.Namespace) -> ApiResult:
    query = f"event_type={EVENT_TYPE}&window_size=30s&limit=100"
    realtime = await load_http(f"{url}/metrics/realtime?{query}", args.seconds, args.concurrency)
    history = await load_http(f"{url}/metrics/history?{query}&start_time=2000-01-01T00:00:00Z", args.seconds,
                              args.concurrency)
    fan = await fan_out(url.replace("http", "ws"), writer, keys, args.ws_clients, args.ws_messages)
    return ApiResult(realtime, history, fan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each HTTP load run")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent HTTP clients")
    parser.add_argument("--ws-clients", type=int, default=50)
    parser.add_argument("--ws-messages", type=int, default=2000)
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON (for bench.run_all)")
    args = parser.parse_args()

    tag = f"bench-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {"REDIS_KEY_PREFIX": tag, "POSTGRES_SCHEMA": tag.replace("-", "_"), "API_PORT": str(port),
           "API_HOST": "127.0.0.1", "LOG_LEVEL": "WARNING", "WS_CLIENT_QUEUE_SIZE": "4096"}  # fmt: skip
    os.environ.update(env)
    settings = Settings()
    keys = RedisKeys(prefix=settings.redis_key_prefix)
    writer = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    base = now_ms() // 10_000 * 10_000 - 10 * 86_400_000
    upsert_windows(writer, keys, [make_window(EVENT_TYPE, base + k * 10_000, k) for k in range(500)], ttl_s=3600)
    insert_history(settings.postgres_dsn, settings.postgres_schema,
                   [make_window(EVENT_TYPE, base - k * 10_000, k) for k in range(1, 20_001)])
    url = f"http://127.0.0.1:{port}"
    api = ServiceProcess.start("api_service", env, Path(tempfile.gettempdir()) / f"{tag}-api.log")
    try:
        api.wait_healthy(f"{url}/health", 30)
        result = asyncio.run(measure(url, writer, keys, args))
    finally:
        stop_all([api], timeout_s=10)
        delete_prefix(writer, tag)
        writer.close()
        drop_schemas(settings.postgres_dsn, [settings.postgres_schema])
    publish(result, args.json)


if __name__ == "__main__":
    main()
