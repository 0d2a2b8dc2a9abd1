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
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import redis
from websockets.asyncio.client import connect

from api_service.settings import Settings
from contracts.events import now_ms
from contracts.redis_keys import RedisKeys, upsert_windows
from contracts.window_results import WindowMetrics

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENT_TYPE = "bench"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_window(start_ms: int, count: int) -> WindowMetrics:
    return WindowMetrics(
        window_start=start_ms, window_end=start_ms + 30_000, count=count, total_value=count * 1.5,
        unique_users=count // 2, event_type=EVENT_TYPE, window_size="30s",
    )  # fmt: skip


def write_windows(client: redis.Redis, keys: RedisKeys, windows: list[WindowMetrics]) -> None:
    upsert_windows(client, keys, windows, ttl_s=3600)


async def seed_history(settings: Settings, windows: list[WindowMetrics]) -> None:
    import asyncpg

    from contracts.history import apply_migrations, insert_windows

    conn = await asyncpg.connect(settings.postgres_dsn)
    try:
        await apply_migrations(conn, settings.postgres_schema)
        await insert_windows(conn, windows)
    finally:
        await conn.close()


async def drop_schema(settings: Settings) -> None:
    import asyncpg

    conn = await asyncpg.connect(settings.postgres_dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{settings.postgres_schema}" CASCADE')
    finally:
        await conn.close()


async def load_http(url: str, seconds: float, concurrency: int) -> tuple[float, float, float, int]:
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
    return len(latencies) / elapsed, percentile(latencies, 0.5) * 1e3, percentile(latencies, 0.99) * 1e3, errors


async def fan_out(ws_url: str, writer: redis.Redis, keys: RedisKeys, clients: int, messages: int) -> dict[str, float]:
    """Publish `messages` windows with `clients` connected; delivered messages/s and per-message latency."""
    first_start = now_ms() // 10_000 * 10_000 + 10_000_000
    sent_at: dict[int, float] = {}
    latencies: list[float] = []
    sockets = [await connect(ws_url + f"/live-metrics?event_type={EVENT_TYPE}", max_queue=None) for _ in range(clients)]
    for socket in sockets:  # drain each snapshot (the latest bench window)
        await asyncio.wait_for(socket.recv(), 10)

    async def read(socket: object) -> None:
        received = 0
        while received < messages:
            message = json.loads(await socket.recv())  # type: ignore[attr-defined]
            latencies.append(time.perf_counter() - sent_at[message["window_start"]])
            received += 1

    readers = [asyncio.create_task(read(socket)) for socket in sockets]
    started = time.perf_counter()
    batch = 50
    for offset in range(0, messages, batch):
        windows = [bench_window(first_start + (offset + k) * 10_000, offset + k) for k in range(batch)]
        now = time.perf_counter()
        for item in windows:
            sent_at[item.window_start] = now
        await asyncio.to_thread(write_windows, writer, keys, windows)
        await asyncio.sleep(0)
    await asyncio.wait_for(asyncio.gather(*readers), 300)
    elapsed = time.perf_counter() - started
    for socket in sockets:
        await socket.close()
    return {
        "delivered_per_s": clients * messages / elapsed,
        "p50_ms": percentile(latencies, 0.5) * 1e3,
        "p99_ms": percentile(latencies, 0.99) * 1e3,
        "max_ms": max(latencies) * 1e3,
        "elapsed_s": elapsed,
    }


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def measure(
    url: str, writer: redis.Redis, keys: RedisKeys, args: argparse.Namespace
) -> tuple[list[str], dict[str, dict[str, float]]]:
    query = f"event_type={EVENT_TYPE}&window_size=30s&limit=100"
    rows = []
    figures: dict[str, dict[str, float]] = {}
    for name, path in (
        ("/metrics/realtime", f"/metrics/realtime?{query}"),
        ("/metrics/history", f"/metrics/history?{query}&start_time=2000-01-01T00:00:00Z"),
    ):
        rps, p50, p99, errors = await load_http(url + path, args.seconds, args.concurrency)
        rows.append(f"| GET {name} (limit=100) | {rps:,.0f} req/s | {p50:.1f} ms | {p99:.1f} ms | {errors} errors |")
        figures[name] = {"requests_per_s": rps, "p50_ms": p50, "p99_ms": p99, "errors": errors}
    fan = await fan_out(url.replace("http", "ws"), writer, keys, args.ws_clients, args.ws_messages)
    rows.append(
        f"| WebSocket fan-out, {args.ws_clients} clients x {args.ws_messages} messages | "
        f"{fan['delivered_per_s']:,.0f} msg/s delivered | {fan['p50_ms']:.1f} ms | {fan['p99_ms']:.1f} ms | "
        f"max {fan['max_ms']:.0f} ms |"
    )
    figures["websocket"] = {**fan, "clients": args.ws_clients, "messages": args.ws_messages}
    return rows, figures


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("api_service did not become healthy within 30 s")


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
    env = {**os.environ, "REDIS_KEY_PREFIX": tag, "POSTGRES_SCHEMA": tag.replace("-", "_"), "API_PORT": str(port),
           "API_HOST": "127.0.0.1", "LOG_LEVEL": "WARNING", "WS_CLIENT_QUEUE_SIZE": "4096"}  # fmt: skip
    os.environ.update(env)
    settings = Settings()
    keys = RedisKeys(prefix=settings.redis_key_prefix)
    writer = redis.Redis(
        host=settings.redis_host, port=settings.redis_port, password=settings.redis_password, decode_responses=True
    )
    base = now_ms() // 10_000 * 10_000 - 10 * 86_400_000
    write_windows(writer, keys, [bench_window(base + k * 10_000, k) for k in range(500)])
    asyncio.run(seed_history(settings, [bench_window(base - k * 10_000, k) for k in range(1, 20_001)]))
    url = f"http://127.0.0.1:{port}"
    api = subprocess.Popen([sys.executable, "-m", "api_service"], cwd=REPO_ROOT, env=env)
    try:
        wait_healthy(url, api)
        rows, figures = asyncio.run(measure(url, writer, keys, args))
    finally:
        api.terminate()
        api.wait(timeout=10)
        stale = list(writer.scan_iter(match=f"{tag}:*", count=1000))
        if stale:
            writer.delete(*stale)
        writer.close()
        asyncio.run(drop_schema(settings))
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {os.getloadavg()[0]:.1f}")
    print(f"command: python -m bench.bench_api {' '.join(sys.argv[1:])}")
    print("| what | throughput | p50 | p99 | notes |\n|---|---|---|---|---|")
    print("\n".join(rows))
    if args.json:
        args.json.write_text(json.dumps({**figures, "load_after": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
