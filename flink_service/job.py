"""The metrics job: events topic -> sliding windows per event_type -> Redis (+ pub/sub).

Submitted with `python -m flink_service.submit` (which runs this file through `flink run`).
All parameters come from the same env settings as every other service (flink_service/settings.py).
"""

from __future__ import annotations

from pyflink.table import EnvironmentSettings, TableEnvironment
from pyflink.table.udf import udf

from contracts.settings import load_settings
from flink_service import sql
from flink_service.redis_writer import (
    WRITER_RESULT_TYPE,
    RedisSkippedCounter,
    RedisWindowCorrector,
    RedisWindowWriter,
)
from flink_service.settings import Settings


def configure(env: TableEnvironment, settings: Settings) -> None:
    config = env.get_config()
    # Windows align to the epoch in UTC, as the contracts' window maths assumes.
    config.set("table.local-time-zone", "UTC")
    config.set("pipeline.name", settings.flink_job_name)
    config.set("parallelism.default", str(settings.flink_parallelism))
    config.set("execution.checkpointing.interval", f"{settings.flink_checkpoint_interval_s}s")
    config.set("execution.checkpointing.mode", "EXACTLY_ONCE")
    config.set("restart-strategy.type", "fixed-delay")
    config.set("restart-strategy.fixed-delay.attempts", "2147483647")
    config.set("restart-strategy.fixed-delay.delay", "2s")
    # Idle partitions must not hold the watermark back (and with it every window).
    config.set("table.exec.source.idle-timeout", f"{settings.source_idle_timeout_s}s")
    # Emission lag (watermark past a window's end -> pub/sub message): the watermark is emitted every 50 ms
    # (default 200), and the Python writer, which sees window results only, flushes its bundle every 20 ms
    # (default 1 s): a few hundred results per slide, so the shorter periods cost next to nothing.
    config.set("pipeline.auto-watermark-interval", "50ms")
    config.set("python.execution-mode", "process")
    config.set("python.fn-execution.bundle.time", "20")
    # Operators hand records on without copying them: none keeps or changes a record it passed on.
    config.set("pipeline.object-reuse", "true")


def register_functions(env: TableEnvironment, settings: Settings) -> None:
    """The Python writers (Redis) and the Java functions (flink_service/functions)."""
    writers = {
        "write_window": RedisWindowWriter(settings.redis_url, settings.redis_key_prefix, settings.redis_ttl_s,
                                          settings.print_results, settings.event_type_quiet_s),
        "correct_window": RedisWindowCorrector(settings.redis_url, settings.redis_key_prefix, settings.redis_ttl_s,
                                               settings.print_results, settings.event_type_quiet_s),
        "count_skipped": RedisSkippedCounter(settings.redis_url, settings.redis_key_prefix),
    }
    for name, writer in writers.items():
        env.create_temporary_function(name, udf(writer, result_type=WRITER_RESULT_TYPE, deterministic=False))
    for statement in sql.functions_ddl(settings.flink_functions_jar.resolve().as_uri()):
        env.execute_sql(statement)


def declare_branch(env: TableEnvironment, settings: Settings, branch: sql.Branch, extra_delay_s: int) -> None:
    """A branch's source (its own consumer group, its watermark `extra_delay_s` later) and views."""
    env.execute_sql(sql.source_ddl(
        topic=settings.kafka_events_topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.kafka_consumer_group + ("-final" if branch == sql.FINAL else ""),
        watermark_delay_s=settings.watermark_delay_s + extra_delay_s,
        max_future_s=settings.max_future_s,
        branch=branch,
    ))
    for statement in sql.views_ddl(settings.max_future_s, settings.breakdowns, branch):
        env.execute_sql(statement)


def build(env: TableEnvironment, settings: Settings) -> None:
    """Declare sources, views and sinks and add the job's inserts to a statement set.

    With ALLOWED_LATENESS_S a second, final branch reads the topic again with a watermark that much later: its
    windows correct the live ones a late event changed (Redis upsert only when the figures differ), and its
    watermark decides which events are too late (the ledger's `late`, the dead-letter topic)."""
    register_functions(env, settings)
    declare_branch(env, settings, sql.LIVE, 0)
    late_from = sql.FINAL if settings.allowed_lateness_s else sql.LIVE
    if late_from == sql.FINAL:
        declare_branch(env, settings, sql.FINAL, settings.allowed_lateness_s)
    env.execute_sql(sql.skipped_view(late_from))
    for sink in ("windows_done", "windows_corrected", "skipped_counted"):
        env.execute_sql(f"CREATE TEMPORARY TABLE {sink} (n INT) WITH ('connector' = 'blackhole')")
    # Its Flink metric `skipped_records[..]__Writer.numRecordsIn` counts every skipped record
    # (invalid or late).
    env.execute_sql("CREATE TEMPORARY TABLE skipped_records (problem STRING) WITH ('connector' = 'blackhole')")
    env.execute_sql(sql.late_sink_ddl(
        topic=settings.kafka_late_topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        transactional_id_prefix=f"{settings.flink_job_name}-{settings.kafka_consumer_group}-late",
    ))
    columns = ", ".join(sql.WINDOW_RESULT_COLUMNS)
    statements = env.create_statement_set()
    live = sql.windows_union(settings.windows, settings.breakdowns, settings.breakdown_max_values, sql.LIVE,
                             settings.window_percentiles)
    statements.add_insert_sql(f"INSERT INTO windows_done SELECT write_window({columns}) FROM ({live})")
    if late_from == sql.FINAL:
        final = sql.windows_union(settings.windows, settings.breakdowns, settings.breakdown_max_values, sql.FINAL,
                                  settings.window_percentiles)
        statements.add_insert_sql(f"INSERT INTO windows_corrected SELECT correct_window({columns}) FROM ({final})")
    statements.add_insert_sql(f"INSERT INTO skipped_records {sql.INVALID_QUERY}")
    statements.add_insert_sql("INSERT INTO skipped_counted SELECT count_skipped(event_type, problem, skipped) "
                              f"FROM ({sql.SKIPPED_COUNTS_QUERY})")
    statements.add_insert_sql(f"INSERT INTO late_events {sql.late_payloads_query(late_from)}")
    statements.execute()


def main() -> None:
    settings = load_settings(Settings)
    if not settings.flink_functions_jar.is_file():
        raise SystemExit(
            f"the job's Java functions are missing ({settings.flink_functions_jar}): run `make setup` "
            "(mvn package in flink_service/functions) or set FLINK_FUNCTIONS_JAR"
        )
    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    configure(env, settings)
    build(env, settings)


if __name__ == "__main__":
    main()
