"""The PostgreSQL side: migrations on connect, then COPY into a staging table and one upsert per batch."""

from __future__ import annotations

from typing import Any

import asyncpg

from contracts.history import (
    METRICS_TABLE,
    NULLABLE_COLUMNS,
    TIME_COLUMNS,
    WINDOW_COLUMN_TYPES,
    WINDOW_COLUMNS,
    WINDOW_COLUMNS_SQL,
    WINDOW_KEY_COLUMNS,
    WindowValues,
    apply_migrations,
    quote_ident,
)
from sync_service.crash_points import PointHook

STAGING_TABLE = "sync_staging"
# Epoch ms -> timestamptz with interval arithmetic, exact to the millisecond (to_timestamp(float) is not).
_MS = "'epoch'::timestamptz + {} * interval '1 millisecond'"


def staging_columns_sql() -> str:
    """The `metrics` window columns with times as epoch ms (bigint): COPY sends a window's values as they are."""
    return ", ".join(
        f"{name} {'bigint' if name in TIME_COLUMNS else sql_type}{'' if name in NULLABLE_COLUMNS else ' NOT NULL'}"
        for name, sql_type in WINDOW_COLUMN_TYPES.items()
    )


# Session-local and emptied at every commit: nothing to clean up after a crash.
CREATE_STAGING_SQL = f"CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE} ({staging_columns_sql()}) ON COMMIT DELETE ROWS"


def upsert_sql(schema: str) -> str:
    converted = ", ".join(_MS.format(name) if name in TIME_COLUMNS else name for name in WINDOW_COLUMNS)
    updated = [name for name in WINDOW_COLUMNS if name not in WINDOW_KEY_COLUMNS] + ["synced_at"]
    return f"""
INSERT INTO {quote_ident(schema)}.{METRICS_TABLE} ({WINDOW_COLUMNS_SQL}, synced_at)
SELECT {converted}, now()
FROM {STAGING_TABLE}
ON CONFLICT ({", ".join(WINDOW_KEY_COLUMNS)}) DO UPDATE SET
    {", ".join(f"{name} = EXCLUDED.{name}" for name in updated)}
"""


class MetricsStore:
    """One asyncpg connection; `connect` applies the migrations and creates the staging table."""

    def __init__(self, dsn: str, schema: str, connect_timeout_s: float = 5.0) -> None:
        self.dsn = dsn
        self.schema = schema
        self.connect_timeout_s = connect_timeout_s
        self._upsert_sql = upsert_sql(schema)
        self._conn: Any = None

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def connect(self) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=self.connect_timeout_s, command_timeout=60)
        try:
            await apply_migrations(conn, self.schema)
            await conn.execute(CREATE_STAGING_SQL)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def upsert(self, rows: list[WindowValues], hook: PointHook) -> None:
        """Write `rows` in one transaction; returns once PostgreSQL has committed them."""
        if not self.connected:
            await self.connect()
        conn = self._conn
        async with conn.transaction():
            await conn.copy_records_to_table(STAGING_TABLE, records=rows, columns=WINDOW_COLUMNS)
            await conn.execute(self._upsert_sql)
            await hook("mid_batch")
