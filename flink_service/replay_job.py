"""The replay's batch job (run through `flink run` by `python -m flink_service.replay`, which plans it).

The job's own SQL over bounded Kafka offsets, in batch mode; the windows starting in the planned range are
collected here, in the client, and upserted into PostgreSQL in batches. A thread polls the JobManager for
the records read and prints progress lines, which the replay command relays.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pyflink.table import EnvironmentSettings, TableEnvironment

from contracts.history import CREATE_STAGING_SQL, apply_migrations, upsert_window_rows, window_values
from contracts.settings import load_settings
from contracts.window_results import WindowMetrics
from contracts.windows import parse_window_specs
from flink_service import sql
from flink_service.cluster import FlinkCluster
from flink_service.redis_writer import window_metrics

PROGRESS_PREFIX = "replay: "
WRITE_BATCH = 1000
PROGRESS_EVERY_S = 2.0


def say(line: str) -> None:
    print(PROGRESS_PREFIX + line, flush=True)


def bounded_source_ddl(settings: Any, plan: Any) -> str:
    """The events topic between the planned offsets."""
    def offsets(by_partition: dict[int, int]) -> str:
        return ";".join(f"partition:{p},offset:{o}" for p, o in sorted(by_partition.items()))

    return sql.source_ddl(
        topic=settings.kafka_events_topic, bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=f"{settings.kafka_consumer_group}-replay", watermark_delay_s=settings.watermark_delay_s,
        max_future_s=settings.max_future_s,
        scan={"scan.startup.mode": "specific-offsets", "scan.startup.specific-offsets": offsets(plan.start_offsets),
              "scan.bounded.mode": "specific-offsets", "scan.bounded.specific-offsets": offsets(plan.end_offsets)},
    )


def windows_in_range(settings: Any, plan: Any) -> str:
    """Every window of the planned specs (and breakdowns) whose start lies in [from, to)."""
    specs = parse_window_specs(plan.window_specs)
    union = sql.windows_union(specs, settings.breakdowns, settings.breakdown_max_values,
                              percentiles=settings.window_percentiles)

    def timestamp(epoch_ms: int) -> str:
        moment = datetime.fromtimestamp(epoch_ms // 1000, UTC)
        return f"TIMESTAMP '{moment:%Y-%m-%d %H:%M:%S}.{epoch_ms % 1000:03d}'"

    return (f"SELECT {', '.join(sql.WINDOW_RESULT_COLUMNS)} FROM ({union}) "
            f"WHERE window_start >= {timestamp(plan.from_ms)} AND window_start < {timestamp(plan.to_ms)}")


class Progress:
    """Records read (the source's output, from the JobManager), windows written, rate and ETA."""

    def __init__(self, cluster: FlinkCluster, total: int) -> None:
        self.cluster, self.total = cluster, total
        self.job_id = ""
        self.written = 0
        self.started = time.monotonic()
        self._stop = threading.Event()

    def records_read(self) -> int:
        if not self.job_id:
            return 0
        read = 0
        for vertex in self.cluster.job(self.job_id)["vertices"]:
            if vertex["name"].startswith("Source"):
                read += int(vertex.get("metrics", {}).get("write-records", 0))
        return read

    def line(self) -> str:
        read, elapsed = self.records_read(), time.monotonic() - self.started
        rate = read / elapsed if elapsed > 0 else 0.0
        eta = f", ETA {max(self.total - read, 0) / rate:.0f} s" if rate > 0 and read < self.total else ""
        return (f"read {read:,} of {self.total:,} records ({rate:,.0f}/s{eta}), "
                f"{self.written:,} windows written, {elapsed:.0f} s")

    def run(self) -> None:
        while not self._stop.wait(PROGRESS_EVERY_S):
            with contextlib.suppress(OSError):  # the JobManager is busy or gone: the next tick tries again
                say(self.line())

    def stop(self) -> None:
        self._stop.set()


async def write_windows(settings: Any, rows: Any, progress: Progress) -> None:
    conn = await asyncpg.connect(settings.postgres_dsn)
    try:
        await apply_migrations(conn, settings.postgres_schema)
        await conn.execute(CREATE_STAGING_SQL)
        batch: list[WindowMetrics] = []
        for row in rows:
            batch.append(window_metrics(*row))
            if len(batch) >= WRITE_BATCH:
                await upsert_window_rows(conn, settings.postgres_schema, [window_values(w) for w in batch])
                progress.written += len(batch)
                batch = []
        if batch:
            await upsert_window_rows(conn, settings.postgres_schema, [window_values(w) for w in batch])
            progress.written += len(batch)
    finally:
        await conn.close()


def main() -> None:
    from flink_service.replay import PLAN_ENV, ReplayPlan, ReplaySettings

    settings = load_settings(ReplaySettings)
    plan = ReplayPlan.from_json(os.environ[PLAN_ENV])
    env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    config = env.get_config()
    config.set("table.local-time-zone", "UTC")
    config.set("pipeline.name", f"{settings.flink_job_name}-replay")
    config.set("parallelism.default", str(settings.flink_parallelism))
    # A bounded job that cannot read its range (e.g. the topic is gone) fails after a few tries instead of
    # restarting for ever on the cluster.
    config.set("restart-strategy.type", "fixed-delay")
    config.set("restart-strategy.fixed-delay.attempts", "3")
    config.set("restart-strategy.fixed-delay.delay", "2s")
    for statement in sql.functions_ddl(settings.flink_functions_jar.resolve().as_uri()):
        env.execute_sql(statement)
    env.execute_sql(bounded_source_ddl(settings, plan))
    for statement in sql.views_ddl(settings.max_future_s, settings.breakdowns, batch=True):
        env.execute_sql(statement)
    progress = Progress(FlinkCluster(settings.flink_rest_url), plan.events_to_read)
    reporter = threading.Thread(target=progress.run, daemon=True)
    result = env.sql_query(windows_in_range(settings, plan)).execute()
    client = result.get_job_client()
    progress.job_id = str(client.get_job_id()) if client is not None else ""
    reporter.start()
    try:
        with result.collect() as rows:
            asyncio.run(write_windows(settings, rows, progress))
    finally:
        progress.stop()
    say(f"done: {progress.line()}")


if __name__ == "__main__":
    main()
