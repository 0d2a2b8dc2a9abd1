"""A tiny PyFlink job for the smoke test: Kafka topic -> SQL + a Python UDF -> Kafka topic.

Reads the source topic up to its current end (bounded), so the job finishes by itself.
"""

import argparse

from pyflink.table import DataTypes, EnvironmentSettings, TableEnvironment
from pyflink.table.udf import udf


@udf(result_type=DataTypes.STRING())  # type: ignore[untyped-decorator]
def shout(word: str) -> str:
    return word.upper()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--source-topic", required=True)
    parser.add_argument("--sink-topic", required=True)
    args = parser.parse_args()

    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    env.get_config().set("python.fn-execution.bundle.time", "100")
    env.create_temporary_function("shout", shout)
    env.execute_sql(f"""
        CREATE TABLE source (word STRING, n INT) WITH (
          'connector' = 'kafka', 'topic' = '{args.source_topic}',
          'properties.bootstrap.servers' = '{args.bootstrap}',
          'properties.group.id' = 'smoke', 'scan.startup.mode' = 'earliest-offset',
          'scan.bounded.mode' = 'latest-offset', 'format' = 'json')""")
    env.execute_sql(f"""
        CREATE TABLE sink (word STRING, n INT) WITH (
          'connector' = 'kafka', 'topic' = '{args.sink_topic}',
          'properties.bootstrap.servers' = '{args.bootstrap}', 'format' = 'json')""")
    env.execute_sql("INSERT INTO sink SELECT shout(word), n * 2 FROM source").wait()


if __name__ == "__main__":
    main()
