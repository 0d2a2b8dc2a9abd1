"""Redis key prefixes and PostgreSQL schemas of a test or benchmark: fill them, read them, remove them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import cast

import asyncpg
import redis

from contracts.history import WINDOW_COLUMNS_SQL, apply_migrations, insert_windows, quote_ident, row_to_window
from contracts.redis_keys import RedisKeys
from contracts.window_results import WindowMetrics


def delete_prefix(client: redis.Redis, prefix: str) -> None:
    """Delete every key under `prefix:`."""
    stale = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if stale:
        client.delete(*stale)


def window_members(client: redis.Redis, keys: RedisKeys, breakdowns: bool = False) -> list[str]:
    """Every member of every windows sorted set under the prefix (canonical window JSON): the event types'
    series, or with `breakdowns` the breakdown values' series."""
    members: list[str] = []
    pattern = keys.window_patterns()[1] if breakdowns else keys.windows_pattern()
    for name in client.scan_iter(match=pattern, count=1000):
        members.extend(cast(list[str], client.zrange(name, 0, -1)))
    return members


def run_sql(dsn: str, *statements: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


def drop_schemas(dsn: str, schemas: Iterable[str]) -> None:
    run_sql(dsn, *(f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE" for schema in schemas))


def insert_history(dsn: str, schema: str, windows: list[WindowMetrics]) -> None:
    """Write synced windows into the schema's `metrics` table (migrated first), as the sync worker does."""

    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await apply_migrations(conn, schema)
            await insert_windows(conn, windows)
        finally:
            await conn.close()

    asyncio.run(run())


async def read_rows(dsn: str, schema: str) -> list[WindowMetrics]:
    """Every row of the schema's metrics table, as WindowMetrics (duplicates, if any, included)."""
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT to_regclass($1)", f"{quote_ident(schema)}.metrics") is None:
            return []
        rows = await conn.fetch(f"SELECT {WINDOW_COLUMNS_SQL} FROM {quote_ident(schema)}.metrics")
    finally:
        await conn.close()
    return [row_to_window(row) for row in rows]


def fetch_rows(dsn: str, schema: str) -> list[WindowMetrics]:
    """`read_rows` for callers that do not run in an event loop."""
    return asyncio.run(read_rows(dsn, schema))
