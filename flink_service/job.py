"""The metrics job: events topic -> sliding windows per event_type -> Redis (+ pub/sub).

Submitted with `python -m flink_service.submit` (which runs this file through `flink run`).
All parameters come from the same env settings as every other service (flink_service/settings.py).
"""

from __future__ import annotations

from pyflink.table import EnvironmentSettings, TableEnvironment
from pyflink.table.udf import udf

from contracts.settings import load_settings
from flink_service import sql
from flink_service.redis_writer import WRITER_RESULT_TYPE, RedisSkippedCounter, RedisWindowWriter
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
    # Process mode with short bundles: window results reach Redis within ~100 ms of firing.
    config.set("python.execution-mode", "process")
    config.set("python.fn-execution.bundle.time", "100")
    # Operators hand records on without copying them: none keeps or changes a record it passed on.
    config.set("pipeline.object-reuse", "true")


def build(env: TableEnvironment, settings: Settings) -> None:
    """Declare sources, views and sinks and add the job's inserts to a statement set."""
    writer = udf(
        RedisWindowWriter(
            settings.redis_url, settings.redis_key_prefix, settings.redis_ttl_s, settings.print_results,
            settings.event_type_quiet_s,
        ),
        result_type=WRITER_RESULT_TYPE,
        deterministic=False,
    )
    env.create_temporary_function("write_window", writer)
    counter = udf(RedisSkippedCounter(settings.redis_url, settings.redis_key_prefix), result_type=WRITER_RESULT_TYPE,
                  deterministic=False)
    env.create_temporary_function("count_skipped", counter)
    for statement in sql.functions_ddl(settings.flink_functions_jar.resolve().as_uri()):
        env.execute_sql(statement)
    env.execute_sql(
        sql.source_ddl(
            topic=settings.kafka_events_topic,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=settings.kafka_consumer_group,
            watermark_delay_s=settings.watermark_delay_s,
            max_future_s=settings.max_future_s,
        )
    )
    env.execute_sql(sql.parsed_view(settings.max_future_s, settings.breakdowns))
    env.execute_sql(sql.VALID_EVENTS_VIEW)
    env.execute_sql(sql.BREAKDOWN_EVENTS_VIEW)
    env.execute_sql(sql.SKIPPED_EVENTS_VIEW)
    env.execute_sql("CREATE TEMPORARY TABLE windows_done (n INT) WITH ('connector' = 'blackhole')")
    env.execute_sql("CREATE TEMPORARY TABLE skipped_counted (n INT) WITH ('connector' = 'blackhole')")
    # Its Flink metric `skipped_records[..]__Writer.numRecordsIn` counts every skipped record
    # (invalid or late).
    env.execute_sql("CREATE TEMPORARY TABLE skipped_records (problem STRING) WITH ('connector' = 'blackhole')")
    env.execute_sql(sql.late_sink_ddl(
        topic=settings.kafka_late_topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        transactional_id_prefix=f"{settings.flink_job_name}-{settings.kafka_consumer_group}-late",
    ))
    statements = env.create_statement_set()
    statements.add_insert_sql(
        f"INSERT INTO windows_done SELECT write_window({', '.join(sql.WINDOW_RESULT_COLUMNS)}) "
        f"FROM ({sql.windows_union(settings.windows, settings.breakdown_max_values if settings.breakdowns else None)})"
    )
    statements.add_insert_sql(f"INSERT INTO skipped_records {sql.INVALID_QUERY}")
    statements.add_insert_sql(
        "INSERT INTO skipped_counted SELECT count_skipped(event_type, problem, skipped) "
        f"FROM ({sql.SKIPPED_COUNTS_QUERY})"
    )
    statements.add_insert_sql(f"INSERT INTO late_events {sql.LATE_PAYLOADS_QUERY}")
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
