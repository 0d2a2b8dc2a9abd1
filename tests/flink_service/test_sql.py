"""The job's interval literals, read by Flink's own SQL planner (a local batch TableEnvironment): every window size
and watermark delay the settings admit is the interval it says, past the 99 s of `INTERVAL 'n' SECOND`."""

from __future__ import annotations

from pyflink.table import EnvironmentSettings, TableEnvironment

from flink_service.sql import interval_sql

SECONDS = (10, 99, 100, 300, 3_600, 86_400, 90_061, 999_999 * 3600)  # up to WINDOW_SPECS' largest, 999999h


def test_interval_literals_are_the_seconds_they_say() -> None:
    env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    # A tumbling window of each length over one row at the epoch: its end is the length, in seconds.
    selects = " UNION ALL ".join(
        f"SELECT {seconds} AS want, UNIX_TIMESTAMP(CAST(window_end AS STRING)) - "
        f"UNIX_TIMESTAMP(CAST(window_start AS STRING)) AS got FROM TABLE(TUMBLE(TABLE epoch, DESCRIPTOR(ts), "
        f"{interval_sql(seconds)})) GROUP BY window_start, window_end"
        for seconds in SECONDS
    )
    env.execute_sql("CREATE TEMPORARY VIEW epoch AS SELECT * FROM (VALUES (TIMESTAMP '1970-01-01 00:00:00')) AS v(ts)")
    with env.execute_sql(selects).collect() as rows:
        found = {row[0]: row[1] for row in rows}
    assert found == {seconds: seconds for seconds in SECONDS}


def test_a_watermark_delay_past_99_s_plans_and_runs() -> None:
    """The job's watermark (event time minus WATERMARK_DELAY_S + ALLOWED_LATENESS_S), on a bounded generated table
    in a local streaming job: its expression takes the default precision only."""
    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    env.execute_sql(
        "CREATE TEMPORARY TABLE generated (n INT, ts AS TIMESTAMP '2000-01-01 00:00:00', WATERMARK FOR ts AS ts - "
        f"{interval_sql(5 + 300)}) WITH ('connector' = 'datagen', 'number-of-rows' = '3')"
    )
    with env.execute_sql("SELECT COUNT(*) FROM generated").collect() as rows:
        assert [row[0] for row in rows][-1] == 3
