"""The replay's batch job (run through `flink run` by `python -m flink_service.replay`, which plans it).

The job's own SQL over bounded Kafka offsets, in batch mode; the windows starting in the planned range are
collected here, in the client, and upserted into PostgreSQL in batches. A thread polls the JobManager for
the records read and prints progress lines, which the replay command relays.

The windows come back as Arrow batches, not row by row: PyFlink's row iterator makes a dozen Py4J calls per
row (1.6 s for 510 windows, after the job had finished: a fifth of a 1M-event replay), and `Table.to_pandas`,
which fetches Arrow batches too, converts the result's schema from Java afterwards (1.2 s of Py4J calls) that
the Arrow stream already carries. The windows are held in memory once the job is done (a window is a row,
never an event).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pyarrow as pa
from pyflink.java_gateway import get_gateway
from pyflink.table import EnvironmentSettings, Table, TableEnvironment

from contracts.history import CREATE_STAGING_SQL, apply_migrations, upsert_window_rows, window_values
from contracts.settings import load_settings
from contracts.window_results import WindowMetrics
from contracts.windows import parse_window_specs
from flink_service import sql
from flink_service.cluster import FlinkCluster
from flink_service.redis_writer import window_metrics

PROGRESS_PREFIX = "replay: "
WRITE_BATCH = 1000
ARROW_BATCH_ROWS = 10_000
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
        batch=True,
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

    def __init__(self, cluster: FlinkCluster, total: int, job_name: str) -> None:
        self.cluster, self.total, self.job_name = cluster, total, job_name
        self.job_id = ""
        self.written = 0
        self.job_done = False  # then every planned record was read (the source stops at the planned offsets)
        self.started = time.monotonic()
        self._stop = threading.Event()

    def records_read(self) -> int:
        if self.job_done:  # a finished job's metrics are gone
            return self.total
        if not self.job_id:  # the job's name is this replay's own
            self.job_id = next((job.job_id for job in self.cluster.jobs() if job.name == self.job_name), "")
        if not self.job_id:
            return 0
        read = 0
        for vertex in self.cluster.job(self.job_id)["vertices"]:
            if vertex["name"].startswith("Source"):  # its output is the chain's (aggregated): ask the source
                path = f"/jobs/{self.job_id}/vertices/{vertex['id']}/metrics"
                names = [m["id"] for m in self.cluster.get_json(path) if m["id"].endswith(".numRecordsOut")
                         and ".Source__" in m["id"]]
                if names:
                    read += sum(int(float(m["value"])) for m in self.cluster.get_json(f"{path}?get={','.join(names)}"))
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


class _JavaBytesStream(io.RawIOBase):
    """The byte arrays of a Java iterator as one readable stream (each `next` is one Py4J call)."""

    def __init__(self, chunks: Any) -> None:
        super().__init__()
        self._chunks, self._left = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._left and self._chunks.hasNext():
            self._left = bytes(self._chunks.next())
        size = min(len(buffer), len(self._left))
        buffer[:size], self._left = self._left[:size], self._left[size:]
        return size


def fetch_windows(table: Table) -> list[WindowMetrics]:
    """Run the query of sql.WINDOW_RESULT_COLUMNS and collect its rows as Arrow batches (the Java side of
    `Table.to_pandas`; the Arrow stream carries its own schema). Timestamps are naive, in the session's zone,
    UTC (as to_epoch_ms reads them); NULL reads as None."""
    table._t_env._before_execute()  # what to_pandas does first: the job's jars into its configuration
    batches = get_gateway().jvm.org.apache.flink.table.runtime.arrow.ArrowUtils.collectAsPandasDataFrame(
        table._j_table, ARROW_BATCH_ROWS)
    if not batches.hasNext():
        return []
    stream = io.BufferedReader(_JavaBytesStream(batches))
    rows = pa.ipc.open_stream(stream).read_all().to_pylist()
    return [window_metrics(*row.values()) for row in rows]


async def write_windows(settings: Any, windows: list[WindowMetrics], progress: Progress) -> None:
    conn = await asyncpg.connect(settings.postgres_dsn)
    try:
        await apply_migrations(conn, settings.postgres_schema)
        await conn.execute(CREATE_STAGING_SQL)
        for start in range(0, len(windows), WRITE_BATCH):
            batch = windows[start:start + WRITE_BATCH]
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
    job_name = f"{settings.flink_job_name}-replay-{uuid.uuid4().hex[:8]}"
    config.set("pipeline.name", job_name)
    # Not the live job's parallelism: a batch job runs stage after stage, each on every core it is given (the
    # adaptive batch scheduler may give a small stage fewer tasks).
    config.set("parallelism.default", str(plan.parallelism))
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
    progress = Progress(FlinkCluster(settings.flink_rest_url), plan.events_to_read, job_name)
    threading.Thread(target=progress.run, daemon=True).start()
    try:
        windows = fetch_windows(env.sql_query(windows_in_range(settings, plan)))
        progress.job_done = True
        say(f"the job is done: {progress.line()}; writing {len(windows):,} windows")
        asyncio.run(write_windows(settings, windows, progress))
    finally:
        progress.stop()
    say(f"done: {progress.line()}")


if __name__ == "__main__":
    main()
