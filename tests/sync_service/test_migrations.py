"""The history schema: migrations applied twice leave the schema unchanged."""

from __future__ import annotations

from typing import Any

import asyncpg

from contracts.history import (
    METRICS_TABLE,
    WINDOW_COLUMN_TYPES,
    WINDOW_COLUMNS,
    WINDOW_COLUMNS_SQL,
    WINDOW_KEY_COLUMNS,
    apply_migrations,
    migration_files,
    row_to_window,
)
from harness.infra import Infra

SCHEMA_SNAPSHOT_SQL = """
SELECT 'column', table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
       || ' ' || coalesce(column_default, '')
FROM information_schema.columns WHERE table_schema = $1
UNION ALL
SELECT 'index', indexdef FROM pg_indexes WHERE schemaname = $1
UNION ALL
SELECT 'constraint', conrelid::regclass::text || ' ' || pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = $1::regnamespace
ORDER BY 1, 2
"""


async def snapshot(conn: Any, schema: str) -> list[tuple[str, str]]:
    return [tuple(row) for row in await conn.fetch(SCHEMA_SNAPSHOT_SQL, schema)]


async def test_migrations_twice_leave_the_schema_unchanged(infra: Infra, pg_schema: str) -> None:
    conn = await asyncpg.connect(infra.postgres_dsn)
    try:
        first = await apply_migrations(conn, pg_schema)
        after_first = await snapshot(conn, pg_schema)
        versions = await conn.fetch(f'SELECT version, applied_at FROM "{pg_schema}".schema_migrations')
        second = await apply_migrations(conn, pg_schema)
        assert first and first[0].startswith("0001_")
        assert second == []
        assert await snapshot(conn, pg_schema) == after_first
        assert await conn.fetch(f'SELECT version, applied_at FROM "{pg_schema}".schema_migrations') == versions
        assert any(f"PRIMARY KEY ({', '.join(WINDOW_KEY_COLUMNS)})" in item for _, item in after_first)
    finally:
        await conn.close()


async def test_the_table_has_the_row_shape_contracts_declares(infra: Infra, pg_schema: str) -> None:
    conn = await asyncpg.connect(infra.postgres_dsn)
    try:
        await apply_migrations(conn, pg_schema)
        table = f'"{pg_schema}".{METRICS_TABLE}'
        columns = await conn.fetch(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum", table)
        key = await conn.fetchval(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'",
            table,
        )
    finally:
        await conn.close()
    assert dict(columns) == {**WINDOW_COLUMN_TYPES, "synced_at": "timestamp with time zone"}
    # Columns a later migration added come after synced_at; the window columns keep their declared order.
    assert [name for name in dict(columns) if name != "synced_at"] == list(WINDOW_COLUMNS)
    assert key == f"PRIMARY KEY ({', '.join(WINDOW_KEY_COLUMNS)})"


async def test_rows_from_before_breakdowns_stay_as_windows_of_their_event_type(infra: Infra, pg_schema: str) -> None:
    """0003 extends the primary key; a row synced before it is kept, as a window of the whole event type."""
    conn = await asyncpg.connect(infra.postgres_dsn)
    try:
        await conn.execute(f'SET search_path TO "{pg_schema}"')
        for path in migration_files():
            if path.name < "0003_":
                await conn.execute(path.read_text())
        await conn.execute(
            "INSERT INTO metrics (event_type, window_size, window_start, window_end, count, total_value, unique_users)"
            " VALUES ('click', '30s', to_timestamp(1719392400), to_timestamp(1719392430), 3, 4.5, 2)")
        assert "0003_breakdowns" in await apply_migrations(conn, pg_schema)
        [row] = await conn.fetch(f"SELECT {WINDOW_COLUMNS_SQL} FROM metrics")
    finally:
        await conn.close()
    window = row_to_window(row)
    assert (window.breakdown, window.breakdown_value, window.count, window.total_value) == (None, None, 3, 4.5)
