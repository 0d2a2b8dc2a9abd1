"""Benchmark of history at auto resolution (issue 17; not a timed test): `/metrics/history?resolution=auto` over 30
days, with 30 days of every default tier loaded, served by one API worker on loopback.

Data: --event-types event types, each with what the default tiers hold after 30 days of traffic (30s/10s windows
for 7 days, 1m, 5m and 1h windows for 30 days: 113,040 rows a type) in PostgreSQL, and each tier's two newest
windows in Redis (not synced yet), under a schema and key prefix of its own (removed afterwards). The load comes
from wrk (Debian's package, bench_api installs it) in its own process: one client asking again as soon as it has
its answer (the latency a dashboard sees), then --connections clients at once (what one worker sustains). The
references in the same run: the same worker serving a static file, the API's own SELECT run directly against
PostgreSQL (asyncpg, one client), and the range read without tiers (the newest 1,000 30s/10s windows: 2.8 hours
of the 30 days). Target: 30 days at auto resolution, p99 < 50 ms.

    .venv/bin/python -m bench.bench_history [--event-types 5] [--seconds 15] [--threads 2] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis

from api_service.params import MAX_LIMIT
from api_service.settings import Settings
from api_service.windows_store import HistoryStore
from bench.bench_api import HttpFigures, add_wrk_arguments, run_wrk, wrk_binary
from bench.figures import Row, number, percentile, publish
from contracts.docs_pages import ASSETS_PATH
from contracts.events import now_ms
from contracts.history import METRICS_TABLE, WINDOW_COLUMNS, apply_migrations, window_row
from contracts.redis_keys import RedisKeys, upsert_windows
from contracts.tiers import Tier
from contracts.window_results import WindowMetrics
from harness.infra import free_port
from harness.services import ServiceProcess, stop_all
from harness.stores import delete_prefix, drop_schemas
from harness.windows import make_window

DAY_MS = 86_400_000
LOADED_DAYS = 30
TARGET_P99_MS = 50.0


@dataclass
class HistoryResult:
    event_types: int
    rows: int
    connections: int
    # One client at a time: the latency of one request.
    serial_reference: HttpFigures  # the static file
    serial_select: HttpFigures  # the API's SELECT for the 30 days, straight to PostgreSQL
    serial_auto_30d: HttpFigures
    # --connections clients at once.
    reference: HttpFigures
    auto_30d: HttpFigures
    auto_24h: HttpFigures
    without_tiers: HttpFigures

    def summary_rows(self) -> list[Row]:
        serial, select = self.serial_auto_30d, self.serial_select
        rows = [[f"API GET /metrics/history, 30 days, resolution=auto (1h tier), one client ({self.rows:,} rows "
                 "loaded)", f"p99 {serial.p99_ms:.1f} ms",
                 f"its SELECT alone p99 {select.p99_ms:.1f} ms; static file p99 {self.serial_reference.p99_ms:.1f} ms",
                 f"{serial.p99_ms / select.p99_ms:.2f}" if select.p99_ms else "",
                 f"target p99 < {TARGET_P99_MS:.0f} ms; p50 {serial.p50_ms:.1f} ms (SELECT "
                 f"{select.p50_ms:.1f} ms), {number(serial.requests_per_s, ' req/s')}, {serial.errors} errors"]]
        ref = self.reference
        measured = (("30 days, resolution=auto (1h tier)", self.auto_30d),
                    ("24 hours, resolution=auto (5m tier)", self.auto_24h),
                    ("30 days without tiers (newest 1,000 30s windows)", self.without_tiers))
        return rows + [[f"API GET /metrics/history, {label}, {self.connections} clients",
                        number(http.requests_per_s, " req/s"), f"static file {number(ref.requests_per_s, ' req/s')}",
                        f"{http.requests_per_s / ref.requests_per_s:.2f}" if ref.requests_per_s else "",
                        f"p50 {http.p50_ms:.1f} ms, p99 {http.p99_ms:.1f} ms, {http.errors} errors"]
                       for label, http in measured]  # fmt: skip


def kept_windows(event_type: str, tier: Tier, now: int, days: int) -> list[WindowMetrics]:
    """The closed windows of a tier in the last `days` days (at most its retention), oldest first."""
    kept_days = min(days, (tier.retention_s or days * 86_400) // 86_400)
    slide, size = tier.slide_ms, tier.spec.size_ms
    last = (now - size) // slide * slide
    first = -(-(now - kept_days * DAY_MS) // slide) * slide
    return [make_window(event_type, start, count=1 + (start // slide) % 50, size_s=tier.spec.size_s)
            for start in range(first, last + 1, slide)]


async def load_history(dsn: str, schema: str, windows: list[WindowMetrics]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn, schema)
        for start in range(0, len(windows), 100_000):
            await conn.copy_records_to_table(METRICS_TABLE, schema_name=schema, columns=WINDOW_COLUMNS,
                                             records=[window_row(w) for w in windows[start:start + 100_000]])
        await conn.execute(f'ANALYZE "{schema}".{METRICS_TABLE}')
    finally:
        await conn.close()


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_answer(url: str, path: str, window_size: str, entries: int) -> None:
    """The benchmarked request answers what it should, before it is measured."""
    body = httpx.get(url + path, timeout=30).json()
    assert (body["window_size"], len(body["entries"])) == (window_size, entries), (path, body.get("resolution"))


def closed_in_range(windows: list[WindowMetrics], start_ms: int, now: int) -> int:
    """How many of the loaded windows a history answer for [start_ms, now) holds: the closed ones starting in it."""
    return sum(1 for window in windows if window.window_start >= start_ms and window.window_end <= now)


async def time_select(
    dsn: str, schema: str, event_type: str, start_ms: int, end_ms: int, seconds: float
) -> HttpFigures:
    """The API's own history SELECT (HistoryStore.between: 1h tier, 30 days), one query after another for
    `seconds`, on one connection: what PostgreSQL alone takes."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        store, latencies = HistoryStore(conn), []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            rows = await store.between(event_type, "1h", start_ms, end_ms, MAX_LIMIT)
            latencies.append((time.perf_counter() - started) * 1000)
        assert rows, "the SELECT found no rows"
    finally:
        await conn.close()
    return HttpFigures("SELECT (HistoryStore.between)", len(latencies) / seconds, percentile(latencies, 0.5),
                       percentile(latencies, 0.99), 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--event-types", type=int, default=5, help="event types loaded (the first is queried)")
    add_wrk_arguments(parser, seconds=15)
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args()

    wrk = wrk_binary()
    tag = f"bench-history-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {"REDIS_KEY_PREFIX": tag, "POSTGRES_SCHEMA": tag.replace("-", "_"), "API_PORT": str(port),
           "API_HOST": "127.0.0.1", "LOG_LEVEL": "WARNING"}  # fmt: skip
    values: dict[str, Any] = {name.lower(): value for name, value in env.items()}
    settings = Settings(**values)
    writer = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    url = f"http://127.0.0.1:{port}"
    now = now_ms()
    types = [f"history-{n}" for n in range(args.event_types)]
    service: ServiceProcess | None = None
    try:
        stored: list[WindowMetrics] = []
        queried: dict[str, list[WindowMetrics]] = {}  # the first type's windows per tier
        for event_type in types:
            for tier in settings.tiers:
                windows = kept_windows(event_type, tier, now, LOADED_DAYS)
                queried.setdefault(tier.label, windows)
                stored += windows[:-2]
                upsert_windows(writer, RedisKeys(tag), windows[-2:], 3600)
        asyncio.run(load_history(settings.postgres_dsn, settings.postgres_schema, stored))
        service = ServiceProcess.start("api_service", env, Path(tempfile.mkdtemp(prefix=f"{tag}-")) / "api.log")
        service.wait_healthy(f"{url}/health", 60)
        end, month_ms, day_ms = iso(now), now // 1000 * 1000 - LOADED_DAYS * DAY_MS, now // 1000 * 1000 - DAY_MS
        month = f"/metrics/history?event_type={types[0]}&start_time={iso(month_ms)}&end_time={end}"
        day = f"/metrics/history?event_type={types[0]}&start_time={iso(day_ms)}&end_time={end}"
        check_answer(url, f"{month}&resolution=auto", "1h", closed_in_range(queried["1h"], month_ms, now))
        check_answer(url, f"{day}&resolution=auto", "5m", closed_in_range(queried["5m"], day_ms, now))
        check_answer(url, f"{month}&window_size=30s&limit=1000", "30s", 1000)
        static = f"{ASSETS_PATH}/favicon.png"
        one = argparse.Namespace(seconds=args.seconds, threads=1, connections=1)
        serial_reference = run_wrk(wrk, url, static, one)
        serial_select = asyncio.run(time_select(settings.postgres_dsn, settings.postgres_schema, types[0], month_ms,
                                                now, args.seconds))
        serial_auto_30d = run_wrk(wrk, url, f"{month}&resolution=auto", one)
        reference = run_wrk(wrk, url, static, args)
        auto_30d = run_wrk(wrk, url, f"{month}&resolution=auto", args)
        auto_24h = run_wrk(wrk, url, f"{day}&resolution=auto", args)
        without_tiers = run_wrk(wrk, url, f"{month}&window_size=30s&limit=1000", args)
    finally:
        if service is not None:
            stop_all([service], timeout_s=10)
        delete_prefix(writer, tag)
        writer.close()
        drop_schemas(settings.postgres_dsn, [settings.postgres_schema])
    publish(HistoryResult(args.event_types, len(stored), args.connections, serial_reference, serial_select,
                          serial_auto_30d, reference, auto_30d, auto_24h, without_tiers), args.json)


if __name__ == "__main__":
    main()
