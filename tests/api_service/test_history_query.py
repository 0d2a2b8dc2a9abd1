"""The history query against the real PostgreSQL: the newest windows of a series come from the primary key read
backwards, not from a sort of the whole series (which made `/metrics/history` cost grow with the series)."""

from __future__ import annotations

import asyncio

import asyncpg

from api_service.windows_store import SERIES_RANGE_SQL, HistoryStore
from contracts.events import now_ms
from contracts.history import METRICS_TABLE, ms_to_datetime, quote_ident
from harness.infra import Infra
from harness.stores import insert_history, run_sql
from harness.windows import make_window

WINDOWS = 3_000


def test_newest_windows_of_a_long_series_need_no_sort(infra: Infra, pg_schema: str) -> None:
    newest = now_ms() // 10_000 * 10_000 - 60_000
    series = [make_window("long_series", newest - k * 10_000, k + 1) for k in range(WINDOWS)]
    other = [make_window("other_series", newest - k * 10_000, 1) for k in range(WINDOWS)]
    insert_history(infra.postgres_dsn, pg_schema, series + other)
    run_sql(infra.postgres_dsn, f"ANALYZE {quote_ident(pg_schema)}.{METRICS_TABLE}")
    start_ms, end_ms = newest - 86_400_000, newest + 10_000

    async def query() -> tuple[str, list[int]]:
        pool = await asyncpg.create_pool(infra.postgres_dsn, min_size=1, max_size=1,
                                         server_settings={"search_path": pg_schema})
        try:
            args = ("long_series", "30s", ms_to_datetime(start_ms), ms_to_datetime(end_ms), 100, "", "")
            plan = "\n".join(row[0] for row in await pool.fetch("EXPLAIN " + SERIES_RANGE_SQL, *args))
            entries = await HistoryStore(pool).between("long_series", "30s", start_ms, end_ms, 100)
            return plan, [entry.window_start for entry in entries]
        finally:
            await pool.close()

    plan, starts = asyncio.run(query())
    assert "Sort" not in plan, plan
    assert starts == [newest - k * 10_000 for k in range(100)]
