"""Benchmark: rows/s the sync worker drains from a large Redis backlog vs a raw asyncpg COPY of the same rows.

    .venv/bin/python -m bench.bench_sync --windows 100000 --batch-size 5000

Uses the running local stack (the same env names as the services), a unique Redis key prefix and a
unique PostgreSQL schema, both removed afterwards. Not a test: it prints figures for docs/benchmarks/sync.md.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import redis
from redis.asyncio import Redis

from bench.figures import Row, number, publish, ratio
from contracts.history import WINDOW_COLUMNS, quote_ident, staging_columns_sql, window_values
from contracts.redis_keys import RedisKeys
from contracts.settings import load_settings
from contracts.window_results import WindowMetrics
from harness.stores import delete_prefix, drop_schemas
from harness.windows import make_window
from sync_service.settings import Settings
from sync_service.worker import SyncWorker

PAST_MS = 1_719_392_400_000
SIZES_S = (30, 300)


@dataclass
class SyncResult:
    windows: int
    sync_rows_per_s: float
    raw_copy_rows_per_s: float
    batches: int

    def summary_rows(self) -> list[Row]:
        return [[f"Sync Redis -> PostgreSQL ({self.windows:,} windows)", number(self.sync_rows_per_s, " rows/s"),
                 f"raw COPY {number(self.raw_copy_rows_per_s, ' rows/s')}",
                 ratio(self.sync_rows_per_s / self.raw_copy_rows_per_s),
                 f"{self.batches} batches of Redis read + COPY + upsert + commit + ZREM"]]  # fmt: skip


def backlog(total: int, event_types: int) -> list[WindowMetrics]:
    """`total` closed windows spread evenly over event_types x 2 window sizes, 10 s apart."""
    keys = [(f"type{n}", size_s) for n in range(event_types) for size_s in SIZES_S]
    per_key = -(-total // len(keys))
    windows = [make_window(event_type, PAST_MS + i * 10_000, count=i + 1, size_s=size_s)
               for event_type, size_s in keys for i in range(per_key)]  # fmt: skip
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


async def measure(settings: Settings, windows: list[WindowMetrics]) -> tuple[float, float, int]:
    """Rows/s of one worker cycle over the backlog, rows/s of the raw COPY, and the cycle's batches."""
    client = Redis.from_url(settings.redis_url, decode_responses=True)
    worker = SyncWorker(settings)
    try:
        await seed(client, RedisKeys(prefix=settings.redis_key_prefix), windows)
        await worker.store.connect()  # migrations and staging table: once per process, not timed
        started = time.perf_counter()
        report = await worker.run_cycle()
        sync_s = time.perf_counter() - started
        assert report.synced == len(windows), f"synced {report.synced} of {len(windows)}"
        raw = await raw_copy_rows_per_s(settings.postgres_dsn, settings.postgres_schema, windows)
    finally:
        await worker.close()
        await client.aclose()
    return len(windows) / sync_s, raw, report.batches


def run(total: int, batch_size: int, event_types: int) -> SyncResult:
    tag = uuid.uuid4().hex[:8]
    settings = load_settings(Settings).model_copy(update={
        "redis_key_prefix": f"bench-sync-{tag}", "postgres_schema": f"bench_sync_{tag}",
        "sync_batch_size": batch_size, "sync_grace_s": 0,
    })  # fmt: skip
    try:
        synced, raw, batches = asyncio.run(measure(settings, backlog(total, event_types)))
    finally:
        with redis.Redis.from_url(settings.redis_url) as cleanup:
            delete_prefix(cleanup, settings.redis_key_prefix)
        drop_schemas(settings.postgres_dsn, [settings.postgres_schema])
    return SyncResult(total, synced, raw, batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--event-types", type=int, default=10, help="keys = event types x 2 window sizes")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON (for bench.run_all)")
    args = parser.parse_args()
    publish(run(args.windows, args.batch_size, args.event_types), args.json)


if __name__ == "__main__":
    main()
