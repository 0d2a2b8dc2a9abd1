"""The PostgreSQL side: migrations on connect, then COPY into a staging table and one upsert per batch."""

from __future__ import annotations

from typing import Any

import asyncpg

from contracts.history import (
    CREATE_STAGING_SQL,
    WindowValues,
    apply_migrations,
    upsert_window_rows,
)
from sync_service.crash_points import PointHook


class MetricsStore:
    """One asyncpg connection; `connect` applies the migrations and creates the staging table."""

    def __init__(self, dsn: str, schema: str, connect_timeout_s: float = 5.0) -> None:
        self.dsn = dsn
        self.schema = schema
        self.connect_timeout_s = connect_timeout_s
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
        await upsert_window_rows(self._conn, self.schema, rows, lambda: hook("mid_batch"))
