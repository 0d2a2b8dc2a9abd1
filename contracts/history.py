"""The PostgreSQL history contract: versioned SQL migrations, applied idempotently.

`apply_migrations` runs every `migrations/NNNN_*.sql` not yet recorded in `schema_migrations`,
each in its own transaction, inside the given schema. A second run changes nothing.
Window times are stored as timestamptz and exchanged as epoch milliseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
