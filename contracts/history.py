"""The PostgreSQL history contract: versioned SQL migrations, applied idempotently.

`apply_migrations` runs every `migrations/NNNN_*.sql` not yet recorded in `schema_migrations`,
each in its own transaction, inside the given schema. A second run changes nothing.
Window times are stored as timestamptz and exchanged as epoch milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from contracts.metrics import WindowMetrics

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
METRICS_TABLE = "metrics"
# Serialises concurrent migrators (two workers starting at once).
_MIGRATION_LOCK_ID = 4_242_001


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def apply_migrations(conn: Any, schema: str = "public") -> list[str]:
    """Apply pending migrations to `schema` on an asyncpg connection; returns the versions applied."""
    applied: list[str] = []
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
    await conn.execute(f"SET search_path TO {quote_ident(schema)}")
    await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_ID)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        for path in migration_files():
            version = path.stem
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text())
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            applied.append(version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK_ID)
    return applied


def ms_to_datetime(epoch_ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=epoch_ms)


def datetime_to_ms(value: datetime) -> int:
    return (value - EPOCH) // timedelta(milliseconds=1)


# The `metrics` columns a window fills, in the order of `window_row`.
WINDOW_COLUMNS = ("event_type", "window_size", "window_start", "window_end", "count", "total_value", "unique_users")


def window_row(window: WindowMetrics) -> tuple[str, str, datetime, datetime, int, float, int]:
    """A window as a `metrics` row (WINDOW_COLUMNS order)."""
    return (
        window.event_type,
        window.window_size,
        ms_to_datetime(window.window_start),
        ms_to_datetime(window.window_end),
        window.count,
        window.total_value,
        window.unique_users,
    )


def row_to_window(
    row: Mapping[str, Any], event_type: str | None = None, window_size: str | None = None
) -> WindowMetrics:
    """A `metrics` row (asyncpg Record or dict) as a window; names may come from the query instead."""
    return WindowMetrics(
        window_start=datetime_to_ms(row["window_start"]),
        window_end=datetime_to_ms(row["window_end"]),
        count=row["count"],
        total_value=row["total_value"],
        unique_users=row["unique_users"],
        event_type=event_type if event_type is not None else row["event_type"],
        window_size=window_size if window_size is not None else row["window_size"],
    )
