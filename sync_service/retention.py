"""Retention of the history tiers: rows older than their window size's retention (HISTORY_RETENTION) are deleted,
a bounded batch per statement.

It runs beside the sync loop in the same process, on a PostgreSQL connection of its own, so the sync cycle never
waits for it: each batch is one short DELETE found through the (window_size, window_start) index, and a stop
request is honoured between batches. A window is past retention when its window_start is older than now minus
its tier's retention.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

import asyncpg

from contracts.events import now_ms
from contracts.history import METRICS_TABLE, apply_migrations, ms_to_datetime, quote_ident
from contracts.tiers import Tier, describe_tiers
from sync_service.prometheus import SyncPrometheus
from sync_service.settings import Settings

log = logging.getLogger("sync_service.retention")


def delete_batch_sql(schema: str) -> str:
    """Up to $3 rows of window size $1 with window_start < $2, found through the index, deleted by row id."""
    table = f"{quote_ident(schema)}.{METRICS_TABLE}"
    return (
        f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("
        f"SELECT ctid FROM {table} WHERE window_size = $1 AND window_start < $2 LIMIT $3))"
    )


@dataclass
class RetentionReport:
    deleted: dict[str, int] = field(default_factory=dict)  # window size -> rows deleted
    batches: int = 0
    duration_s: float = 0.0

    def log_line(self) -> str:
        sizes = ",".join(f"{label}:{rows}" for label, rows in self.deleted.items()) or "-"
        return (f"retention deleted={sum(self.deleted.values())} batches={self.batches} by_size={sizes} "
                f"duration_ms={self.duration_s * 1000:.0f}")


class RetentionTask:
    """Deletes the rows past their tier's retention every SYNC_RETENTION_INTERVAL_S, SYNC_RETENTION_BATCH_SIZE
    rows per DELETE."""

    def __init__(self, settings: Settings, prometheus: SyncPrometheus, stop_requested: asyncio.Event) -> None:
        self.settings = settings
        self.tiers: list[Tier] = settings.tiers
        self.prometheus = prometheus
        self.stop_requested = stop_requested
        self._delete_sql = delete_batch_sql(settings.postgres_schema)
        self._conn: asyncpg.Connection | None = None

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            conn = await asyncpg.connect(self.settings.postgres_dsn, timeout=5, command_timeout=60)
            try:
                await apply_migrations(conn, self.settings.postgres_schema)  # the table and the index it needs
            except BaseException:
                conn.terminate()
                raise
            self._conn = conn
        return self._conn

    async def run_once(self, now: int | None = None) -> RetentionReport:
        """Delete every row past retention at `now` (epoch ms), batch by batch, unless a stop is requested."""
        started = time.monotonic()
        now = now_ms() if now is None else now
        report = RetentionReport()
        conn = await self._connection()
        for tier in self.tiers:
            kept_from = tier.kept_from_ms(now)
            if kept_from is None:
                continue
            report.deleted[tier.label] = 0
            while not self.stop_requested.is_set():
                status = await conn.execute(
                    self._delete_sql, tier.label, ms_to_datetime(kept_from), self.settings.sync_retention_batch_size
                )
                deleted = int(status.split()[-1])  # "DELETE n"
                report.batches += 1
                report.deleted[tier.label] += deleted
                self.prometheus.retention_batches.inc()
                self.prometheus.retention_rows_deleted.labels(window_size=tier.label).inc(deleted)
                if deleted < self.settings.sync_retention_batch_size:
                    break
                await asyncio.sleep(0)  # the sync loop's turn between two batches
        report.duration_s = time.monotonic() - started
        self.prometheus.retention_run_seconds.set(report.duration_s)
        self.prometheus.retention_last_run.set(time.time())
        return report

    async def run(self) -> None:
        """Every interval until a stop is requested; a failed run is logged, counted and tried again next time."""
        interval = self.settings.sync_retention_interval_s
        log.info("retention every %ss in batches of %d: %s", interval, self.settings.sync_retention_batch_size,
                 describe_tiers(self.tiers))
        while not self.stop_requested.is_set():
            try:
                log.info((await self.run_once()).log_line())
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
                self.prometheus.retention_errors.inc()
                log.warning("retention failed (next try in %ss): %s: %s", interval, type(error).__name__,
                            str(error)[:300] or "no detail")
                await self.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_requested.wait(), interval)
