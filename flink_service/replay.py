"""Rebuild history for a time range from the events still retained in Kafka.

    python -m flink_service.replay --from 2026-11-27T08:00:00Z --to 2026-11-27T09:00:00Z [--window-specs 1m/1m]

Runs the job's own SQL (the same Java functions, windows and breakdowns) as a bounded batch job on the Flink
cluster over the records Kafka appended from `--from` minus `--slack` to `--to` plus the longest window
plus `--slack`, keeps the windows starting in [from, to), and upserts them into PostgreSQL (`metrics`): a
re-run changes nothing, and the live job and the live Redis series are left alone. Late events count
(a replay reads every event of the range, whenever it arrived). Progress is printed as it goes.

A range that starts before the oldest event Kafka still holds (its retention deleted older ones) is refused,
naming the earliest time available. Kafka's record time is when an event was produced: the slack covers
events whose own timestamp differs from it (clients' clocks, retries, late events).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, TopicPartition

from contracts.log_setup import setup_logging
from contracts.settings import PostgresSettings, load_settings, to_env
from contracts.windows import parse_duration_s, parse_window_specs
from flink_service import replay_job
from flink_service.cluster import FlinkCluster, flink_home
from flink_service.settings import Settings

PLAN_ENV = "REPLAY_PLAN"


class ReplaySettings(Settings, PostgresSettings):
    """The job's settings plus where history lives."""


@dataclass(frozen=True)
class ReplayPlan:
    """What one replay reads and writes; handed to the batch job as JSON."""

    from_ms: int
    to_ms: int
    window_specs: str
    start_offsets: dict[int, int]  # partition -> first offset to read
    end_offsets: dict[int, int]  # partition -> offset to stop before
    parallelism: int  # of the batch job: each stage runs this many tasks (in turns when slots are short)

    @property
    def events_to_read(self) -> int:
        return sum(self.end_offsets[p] - self.start_offsets[p] for p in self.start_offsets)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ReplayPlan:
        data = json.loads(text)
        return cls(data["from_ms"], data["to_ms"], data["window_specs"],
                   {int(p): o for p, o in data["start_offsets"].items()},
                   {int(p): o for p, o in data["end_offsets"].items()}, data["parallelism"])


class ReplayRefused(Exception):
    """The range cannot be replayed; the message says why and what to do."""


def iso_ms(text: str) -> int:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def ms_iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def plan_replay(
    settings: Settings, from_ms: int, to_ms: int, window_specs: str, slack_ms: int, parallelism: int | None = None
) -> ReplayPlan:
    """The offsets of the records appended in [from - slack, to + longest window + slack), per partition; the
    job's parallelism is the topic's partitions unless given."""
    if to_ms <= from_ms:
        raise ReplayRefused("--to must be later than --from")
    longest_ms = max(spec.size_ms for spec in parse_window_specs(window_specs))
    topic = settings.kafka_events_topic
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": "replay-planner",
                         "enable.auto.commit": False, "log_level": 3})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            raise ReplayRefused(f"topic {topic} not found at {settings.kafka_bootstrap_servers}")
        partitions = sorted(metadata.partitions)
        bounds = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in partitions}
        check_retention(consumer, topic, bounds, from_ms)
        starts = offsets_at(consumer, topic, partitions, from_ms - slack_ms, bounds)
        ends = offsets_at(consumer, topic, partitions, to_ms + longest_ms + slack_ms, bounds)
    finally:
        consumer.close()
    return ReplayPlan(from_ms, to_ms, window_specs, starts, ends, parallelism or len(partitions))


def check_retention(consumer: Consumer, topic: str, bounds: dict[int, tuple[int, int]], from_ms: int) -> None:
    """Refuse a range that starts before the oldest record of a partition whose older records were deleted."""
    earliest: list[int] = []
    for partition, (low, high) in bounds.items():
        if low == 0 or low >= high:
            continue  # nothing deleted, or nothing left to read anyway
        consumer.assign([TopicPartition(topic, partition, low)])
        message = consumer.poll(10)
        if message is not None and message.error() is None:
            earliest.append(message.timestamp()[1])
    if earliest and from_ms < max(earliest):
        raise ReplayRefused(
            f"Kafka no longer holds all events from {ms_iso(from_ms)}: its retention deleted older records, and "
            f"every partition of {topic} holds events from {ms_iso(max(earliest))} on. Replay from that time or "
            "later (see docs/flink_service.md on Kafka retention)."
        )


def offsets_at(
    consumer: Consumer, topic: str, partitions: list[int], at_ms: int, bounds: dict[int, tuple[int, int]]
) -> dict[int, int]:
    """Per partition, the first offset whose record time is at or after `at_ms` (the end when none is)."""
    found = consumer.offsets_for_times([TopicPartition(topic, p, max(at_ms, 0)) for p in partitions], timeout=10)
    return {tp.partition: tp.offset if tp.offset >= 0 else bounds[tp.partition][1] for tp in found}


def run_batch_job(settings: ReplaySettings, plan: ReplayPlan, extra_env: dict[str, str] | None = None) -> int:
    """`flink run` the batch job (flink_service/replay_job.py) and relay its progress lines; its exit code."""
    cluster = FlinkCluster(settings.flink_rest_url)
    host_port = cluster.rest_url.split("://", 1)[-1]
    cmd = ["bash", str(flink_home() / "bin" / "flink"), "run", "-m", host_port,
           "-py", str(Path(replay_job.__file__)), "-pyexec", sys.executable, "-pyclientexec", sys.executable]
    env = {**os.environ, **to_env(settings), **(extra_env or {}), PLAN_ENV: plan.to_json()}
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        assert process.stdout is not None
        telling = []
        for line in process.stdout:
            if line.startswith(replay_job.PROGRESS_PREFIX):
                print(line[len(replay_job.PROGRESS_PREFIX):].rstrip(), flush=True)
            else:
                telling.append(line)
        code = process.wait()
    if code != 0:
        print("".join(telling[-40:]), file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flink_service.replay", description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="from_time", required=True, help="ISO 8601, e.g. 2026-11-27T08:00:00Z")
    parser.add_argument("--to", dest="to_time", required=True, help="ISO 8601; windows starting before it")
    parser.add_argument("--window-specs", default=None, help="default WINDOW_SPECS, e.g. 30s/10s,1m/1m")
    parser.add_argument("--slack", default="1h", help="extra Kafka time read on each side (default 1h)")
    parser.add_argument("--parallelism", type=int, default=None,
                        help="tasks per stage of the batch job (default: the topic's partitions)")
    args = parser.parse_args(argv)
    settings = load_settings(ReplaySettings)
    setup_logging(settings.log_level)
    try:
        specs = args.window_specs or settings.window_specs
        parse_window_specs(specs)
        if args.parallelism is not None and args.parallelism < 1:
            raise ValueError("--parallelism must be at least 1")
        plan = plan_replay(settings, iso_ms(args.from_time), iso_ms(args.to_time), specs,
                           parse_duration_s(args.slack) * 1000, args.parallelism)
    except (ReplayRefused, ValueError, KafkaException) as error:
        print(f"replay refused: {error}", file=sys.stderr)
        return 2
    print(f"replaying windows starting in [{ms_iso(plan.from_ms)}, {ms_iso(plan.to_ms)}) for {plan.window_specs}: "
          f"{plan.events_to_read:,} records to read from {settings.kafka_events_topic}, parallelism {plan.parallelism}",
          flush=True)
    return run_batch_job(settings, plan)


if __name__ == "__main__":
    sys.exit(main())
