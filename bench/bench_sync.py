"""Benchmark: rows/s the sync worker drains from a large Redis backlog vs a raw asyncpg COPY of the same rows.

    .venv/bin/python -m bench.bench_sync --windows 100000 --batch-size 5000

Uses the running local stack (the same env names as the services), a unique Redis key prefix and a
unique PostgreSQL schema, both removed afterwards. Not a test: it prints figures for docs/benchmarks/sync.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
import uuid
from pathlib import Path

import asyncpg
from redis.asyncio import Redis

from contracts.history import WINDOW_COLUMNS, quote_ident, window_values
from contracts.redis_keys import RedisKeys
from contracts.settings import load_settings
from contracts.window_results import WindowMetrics
from sync_service.postgres_store import staging_columns_sql
from sync_service.settings import Settings
from sync_service.worker import SyncWorker

PAST_MS = 1_719_392_400_000
SIZES = {"30s": 30_000, "5m": 300_000}


def backlog(total: int, event_types: int) -> list[WindowMetrics]:
    """`total` closed windows spread evenly over event_types x 2 window sizes, 10 s apart."""
    keys = [(f"type{n}", size) for n in range(event_types) for size in SIZES]
    per_key = -(-total // len(keys))
    windows = [
        WindowMetrics(
            window_start=PAST_MS + i * 10_000,
            window_end=PAST_MS + i * 10_000 + SIZES[size],
            count=i + 1,
            total_value=i * 0.5,
            unique_users=i % 97 + 1,
            event_type=event_type,
            window_size=size,
        )
        for event_type, size in keys
        for i in range(per_key)
    ]
    return windows[:total]


async def seed(client: Redis, keys: RedisKeys, windows: list[WindowMetrics]) -> None:
    pipe = client.pipeline(transaction=False)
    for n, window in enumerate(windows, 1):
        pipe.zadd(keys.windows(window.event_type, window.window_size), {window.to_json(): window.window_start})
        if n % 10_000 == 0:
            await pipe.execute()
    await pipe.execute()


async def raw_copy_rows_per_s(dsn: str, schema: str, windows: list[WindowMetrics]) -> float:
    """The floor: one COPY of the same rows into a bare table, no Redis, no upsert."""
    rows = [window_values(window) for window in windows]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE TABLE {quote_ident(schema)}.raw_copy ({staging_columns_sql()})")
        started = time.perf_counter()
        await conn.copy_records_to_table("raw_copy", schema_name=schema, records=rows, columns=WINDOW_COLUMNS)
        return len(rows) / (time.perf_counter() - started)
    finally:
        await conn.close()


async def run(total: int, batch_size: int, event_types: int) -> dict[str, float]:
    base = load_settings(Settings)
    tag = uuid.uuid4().hex[:8]
    settings = base.model_copy(
        update={
            "redis_key_prefix": f"bench-sync-{tag}",
            "postgres_schema": f"bench_sync_{tag}",
            "sync_batch_size": batch_size,
            "sync_grace_s": 0,
        }
    )
    keys = RedisKeys(prefix=settings.redis_key_prefix)
    windows = backlog(total, event_types)
    client = Redis.from_url(settings.redis_url, decode_responses=True)
    worker = SyncWorker(settings)
    try:
        await seed(client, keys, windows)
        await worker.store.connect()  # migrations and staging table: once per process, not timed
        started = time.perf_counter()
        report = await worker.run_cycle()
        sync_s = time.perf_counter() - started
        assert report.synced == total, f"synced {report.synced} of {total}"
        raw = await raw_copy_rows_per_s(settings.postgres_dsn, settings.postgres_schema, windows)
    finally:
        await worker.close()
        stale = [name async for name in client.scan_iter(match=f"{keys.prefix}:*", count=1000)]
        if stale:
            await client.delete(*stale)
        await client.aclose()
        conn = await asyncpg.connect(settings.postgres_dsn)
        await conn.execute(f"DROP SCHEMA IF EXISTS {quote_ident(settings.postgres_schema)} CASCADE")
        await conn.close()
    synced = total / sync_s
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(f"windows={total} keys={2 * event_types} batch_size={batch_size} batches={report.batches}")
    print(f"sync worker: {synced:,.0f} rows/s ({sync_s:.2f}s; Redis read + COPY + upsert + commit + ZREM)")
    print(f"raw COPY:    {raw:,.0f} rows/s (one COPY of the same rows into a bare table)")
    print(f"ratio sync/raw: {synced / raw:.2f}")
    return {"windows": total, "sync_rows_per_s": synced, "raw_copy_rows_per_s": raw, "load_after": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--event-types", type=int, default=10, help="keys = event types x 2 window sizes")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON (for bench.run_all)")
    args = parser.parse_args()
    figures = asyncio.run(run(args.windows, args.batch_size, args.event_types))
    if args.json:
        args.json.write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
