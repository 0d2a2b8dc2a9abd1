"""The PostgreSQL side: migrations on connect, then COPY into a staging table and one upsert per batch."""

from __future__ import annotations

from typing import Any

import asyncpg

from contracts.history import METRICS_TABLE, apply_migrations, quote_ident
from sync_service.closing import StagingRow
from sync_service.crash_points import PointHook

STAGING_TABLE = "sync_staging"
STAGING_COLUMNS = (
    "event_type",
    "window_size",
    "window_start_ms",
    "window_end_ms",
    "count",
    "total_value",
    "unique_users",
)
# Session-local and emptied at every commit: nothing to clean up after a crash.
CREATE_STAGING_SQL = f"""
CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE} (
    event_type text NOT NULL,
    window_size text NOT NULL,
    window_start_ms bigint NOT NULL,
    window_end_ms bigint NOT NULL,
    count bigint NOT NULL,
    total_value double precision NOT NULL,
    unique_users bigint NOT NULL
) ON COMMIT DELETE ROWS
"""
# Epoch ms -> timestamptz with interval arithmetic, exact to the millisecond (to_timestamp(float) is not).
_MS = "'epoch'::timestamptz + {} * interval '1 millisecond'"


def upsert_sql(schema: str) -> str:
    return f"""
INSERT INTO {quote_ident(schema)}.{METRICS_TABLE}
    (event_type, window_size, window_start, window_end, count, total_value, unique_users, synced_at)
SELECT event_type, window_size, {_MS.format("window_start_ms")}, {_MS.format("window_end_ms")},
       count, total_value, unique_users, now()
FROM {STAGING_TABLE}
ON CONFLICT (event_type, window_size, window_start) DO UPDATE SET
    window_end = EXCLUDED.window_end,
    count = EXCLUDED.count,
    total_value = EXCLUDED.total_value,
    unique_users = EXCLUDED.unique_users,
    synced_at = EXCLUDED.synced_at
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

    async def upsert(self, rows: list[StagingRow], hook: PointHook) -> None:
        """Write `rows` in one transaction; returns once PostgreSQL has committed them."""
        if not self.connected:
            await self.connect()
        conn = self._conn
        async with conn.transaction():
            await conn.copy_records_to_table(STAGING_TABLE, records=rows, columns=STAGING_COLUMNS)
            await conn.execute(self._upsert_sql)
            await hook("mid_batch")
