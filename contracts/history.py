"""The PostgreSQL history contract: versioned SQL migrations, applied idempotently.

`apply_migrations` runs every `migrations/NNNN_*.sql` not yet recorded in `schema_migrations`,
each in its own transaction, inside the given schema. A second run changes nothing.
Window times are stored as timestamptz and exchanged as epoch milliseconds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import Any

from contracts.window_results import WindowMetrics

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
        # All pending migrations in one transaction: a reader never sees a schema half way through them.
        async with conn.transaction():
            for path in migration_files():
                version = path.stem
                if version in done:
                    continue
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


# The one declaration of a `metrics` row: each window column and its PostgreSQL type, in row order.
# The migrations create the table with them (tests/sync_service/test_migrations.py checks it matches).
WINDOW_COLUMN_TYPES: dict[str, str] = {
    "event_type": "text",
    "window_size": "text",
    "window_start": "timestamp with time zone",
    "window_end": "timestamp with time zone",
    "count": "bigint",
    "total_value": "double precision",
    "unique_users": "bigint",
    "p50": "double precision",
    "p95": "double precision",
    "p99": "double precision",
    "breakdown": "text",
    "breakdown_value": "text",
}
WINDOW_COLUMNS = tuple(WINDOW_COLUMN_TYPES)
# The primary key, window_start last: a series (an event type's windows, or a breakdown value's) is one range.
WINDOW_KEY_COLUMNS = ("event_type", "window_size", "breakdown", "breakdown_value", "window_start")
# '' in the table stands for "none" (a window of the whole event type): primary key columns cannot be NULL.
EMPTY_AS_NONE_COLUMNS = frozenset({"breakdown", "breakdown_value"})
NULLABLE_COLUMNS = frozenset({"p50", "p95", "p99"})  # a window written before they existed has none
TIME_COLUMNS = frozenset({"window_start", "window_end"})  # timestamptz in the table, epoch ms in a window
WINDOW_COLUMNS_SQL = ", ".join(WINDOW_COLUMNS)

# A window's values in WINDOW_COLUMNS order, times as epoch ms.
WindowValues = tuple[str, str, int, int, int, float, int, float | None, float | None, float | None, str, str]
_window_values = attrgetter(*WINDOW_COLUMNS)


def window_values(window: WindowMetrics) -> WindowValues:
    """A window's values in WINDOW_COLUMNS order, times as epoch ms (the sync worker's staging row)."""
    values: WindowValues = _window_values(window)
    if window.breakdown is None:  # the two breakdown columns come last
        return (*values[:-2], "", "")
    return values


def window_row(window: WindowMetrics) -> tuple[Any, ...]:
    """A window as a `metrics` row: WINDOW_COLUMNS order, times as datetimes."""
    values: tuple[Any, ...] = window_values(window)
    return tuple(
        ms_to_datetime(value) if name in TIME_COLUMNS else value
        for name, value in zip(WINDOW_COLUMNS, values, strict=True)
    )


def row_to_window(row: Mapping[str, Any]) -> WindowMetrics:
    """A `metrics` row (asyncpg Record or dict with every WINDOW_COLUMNS name) as a window."""
    fields = {name: datetime_to_ms(row[name]) if name in TIME_COLUMNS else row[name] for name in WINDOW_COLUMNS}
    for name in EMPTY_AS_NONE_COLUMNS:
        fields[name] = fields[name] or None
    return WindowMetrics(**fields)


async def insert_windows(conn: Any, windows: Iterable[WindowMetrics]) -> None:
    """Write windows as `metrics` rows on an asyncpg connection (its search_path picks the schema):
    what the sync worker leaves there, for tests and benchmarks."""
    placeholders = ", ".join(f"${number}" for number in range(1, len(WINDOW_COLUMNS) + 1))
    await conn.executemany(
        f"INSERT INTO {METRICS_TABLE} ({WINDOW_COLUMNS_SQL}) VALUES ({placeholders})",
        [window_row(window) for window in windows],
    )


# Writing windows: COPY into a session-local staging table (times as epoch ms, as a window carries them),
# then one upsert into `metrics`: the sync worker's batches and the replay command both write this way.
STAGING_TABLE = "window_staging"
# Epoch ms -> timestamptz with interval arithmetic, exact to the millisecond (to_timestamp(float) is not).
_MS = "'epoch'::timestamptz + {} * interval '1 millisecond'"


def staging_columns_sql() -> str:
    """The `metrics` window columns with times as epoch ms (bigint): COPY sends a window's values as they are."""
    return ", ".join(
        f"{name} {'bigint' if name in TIME_COLUMNS else sql_type}{'' if name in NULLABLE_COLUMNS else ' NOT NULL'}"
        for name, sql_type in WINDOW_COLUMN_TYPES.items()
    )


# Emptied at every commit: nothing to clean up after a crash.
CREATE_STAGING_SQL = f"CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE} ({staging_columns_sql()}) ON COMMIT DELETE ROWS"


def upsert_sql(schema: str) -> str:
    """Move the staged windows into `{schema}.metrics`, replacing the rows of the same windows."""
    converted = ", ".join(_MS.format(name) if name in TIME_COLUMNS else name for name in WINDOW_COLUMNS)
    updated = [name for name in WINDOW_COLUMNS if name not in WINDOW_KEY_COLUMNS] + ["synced_at"]
    return f"""
INSERT INTO {quote_ident(schema)}.{METRICS_TABLE} ({WINDOW_COLUMNS_SQL}, synced_at)
SELECT {converted}, now()
FROM {STAGING_TABLE}
ON CONFLICT ({", ".join(WINDOW_KEY_COLUMNS)}) DO UPDATE SET
    {", ".join(f"{name} = EXCLUDED.{name}" for name in updated)}
"""


async def upsert_window_rows(
    conn: Any, schema: str, rows: list[WindowValues], before_commit: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Write window rows (`window_values`) into `{schema}.metrics` in one transaction: an idempotent upsert.
    The connection must have run CREATE_STAGING_SQL. `before_commit` runs inside the transaction."""
    async with conn.transaction():
        await conn.copy_records_to_table(STAGING_TABLE, records=rows, columns=WINDOW_COLUMNS)
        await conn.execute(upsert_sql(schema))
        if before_commit is not None:
            await before_commit()
