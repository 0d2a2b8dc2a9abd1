"""Benchmark of the metrics job: drain rate vs Kafka's consumer perf test, and emission lag.

    .venv/bin/python -m bench.bench_flink [--events 300000] [--live-seconds 60] [--live-rate 300] [--json PATH]

Against the running local stack, on its own topic, consumer groups, Redis key prefix and job name
(all removed or cancelled afterwards). Not a test. Three phases in one run:

1. Drain: N events are produced straight to Kafka (pre-serialised, as fast as the producer goes), with
   event times spread over the recent past so every window can close, then one heartbeat per partition
   past the last window. Then the job is submitted; the clock runs from the job's RUNNING timestamp
   (JobManager REST) to the pub/sub message of the last window (the sum of the 30 s windows' counts
   reaching 3 N says it was the last one).
2. Reference: `ConsumerPerformance` (Kafka's consumer perf test) reads the same topic with a new group.
3. Emission lag, live: events stamped with the current time at a steady rate plus a heartbeat per
   partition every second, into the same job. For each window, the moment the watermark passed its end
   is the ack time of the first record, on the last of the partitions to get one, whose timestamp moves
   that partition's watermark to >= window_end - 1 ms (watermark = max timestamp - WATERMARK_DELAY_S);
   the lag is the pub/sub arrival minus that moment. The cruder window_end + delay (wall clock) is
   reported beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from contracts.events import encode_event, heartbeat_value, now_ms  # noqa: E402
from contracts.redis_keys import RedisKeys  # noqa: E402
from contracts.settings import load_settings, to_env  # noqa: E402
from flink_service.cluster import TERMINAL_STATES, FlinkCluster  # noqa: E402
from flink_service.settings import Settings  # noqa: E402
from flink_service.submit import submit  # noqa: E402

RUN_DIR = Path(os.environ.get("RUN_DIR", REPO_ROOT / ".run"))
KAFKA_LIBS = REPO_ROOT / "localstack" / "target" / "kafka-libs"
WINDOW_SPEC = "30s/10s"
WINDOW_LABEL = "30s"
WINDOWS_PER_EVENT = 3  # a 30 s window sliding every 10 s holds each event three times
PARTITIONS = 3


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def load_average() -> float:
    return os.getloadavg()[0]


# --- a job of our own --------------------------------------------------------------------------


@dataclass
class BenchJob:
    """A metrics job on a unique topic, consumer group, Redis prefix and name; `close()` removes it all."""

    settings: Settings
    admin: AdminClient
    redis_client: redis.Redis
    cluster: FlinkCluster
    job_id: str | None = None
    other_groups: list[str] = field(default_factory=list)  # e.g. the consumer perf test's, deleted on close

    @classmethod
    def create(cls, kind: str, partitions: int = PARTITIONS, **overrides: Any) -> BenchJob:
        tag = f"bench-{kind}-{uuid.uuid4().hex[:8]}"
        base = load_settings(Settings)
        settings = base.model_copy(
            update={
                "kafka_events_topic": tag,
                "kafka_consumer_group": tag,
                "redis_key_prefix": tag,
                "flink_job_name": tag,
                "window_specs": WINDOW_SPEC,
                **overrides,
            }
        )
        admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
        topic = NewTopic(settings.kafka_events_topic, num_partitions=partitions, replication_factor=1)
        admin.create_topics([topic])[settings.kafka_events_topic].result(timeout=30)
        client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
        return cls(settings, admin, client, FlinkCluster(settings.flink_rest_url))

    @property
    def topic(self) -> str:
        return self.settings.kafka_events_topic

    @property
    def keys(self) -> RedisKeys:
        return RedisKeys(self.settings.redis_key_prefix)

    def submit(self) -> str:
        flink_env = {"FLINK_CONF_DIR": str(RUN_DIR / "flink" / "conf"), "FLINK_LIB_DIR": str(RUN_DIR / "flink" / "lib")}
        self.job_id = submit(self.settings, extra_env={**to_env(self.settings), **flink_env})
        return self.job_id

    def running_since_ms(self) -> int:
        """When the JobManager switched the job to RUNNING (epoch ms, same machine clock)."""
        assert self.job_id is not None
        return int(self.cluster.job(self.job_id)["timestamps"]["RUNNING"])

    def wait_tasks_running(self, timeout_s: float = 120) -> None:
        """Job RUNNING is not task RUNNING: wait until every vertex runs (Python workers started)."""
        assert self.job_id is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            vertices = self.cluster.job(self.job_id)["vertices"]
            if all(vertex["status"] == "RUNNING" for vertex in vertices):
                return
            time.sleep(0.5)
        raise TimeoutError(f"tasks of job {self.job_id} not all RUNNING after {timeout_s:.0f}s")

    def other_running_jobs(self) -> int:
        return sum(1 for job in self.cluster.jobs() if job.state == "RUNNING" and job.job_id != self.job_id)

    def window_count_sum(self) -> int:
        """Sum of `count` over every window of WINDOW_LABEL in Redis (3 x events once all have closed)."""
        total = 0
        for key in self.redis_client.scan_iter(match=self.keys.windows("*", WINDOW_LABEL), count=1000):
            members: list[str] = self.redis_client.zrange(key, 0, -1)  # type: ignore[assignment]
            total += sum(json.loads(member)["count"] for member in members)
        return total

    def close(self) -> None:
        if self.job_id is not None:
            with contextlib.suppress(Exception):  # already gone is fine
                self.cluster.cancel(self.job_id)
                # A source still polling would have the broker auto-create the topic again after its deletion.
                self.cluster.wait_state(self.job_id, TERMINAL_STATES, 60)
        for future in self.admin.delete_topics([self.topic]).values():
            with contextlib.suppress(Exception):
                future.result(timeout=30)
        groups = [self.settings.kafka_consumer_group, *self.other_groups]
        for future in self.admin.delete_consumer_groups(groups).values():
            with contextlib.suppress(Exception):  # a group that never committed does not exist
                future.result(timeout=30)
        stale = list(self.redis_client.scan_iter(match=f"{self.keys.prefix}:*", count=1000))
        if stale:
            self.redis_client.delete(*stale)
        self.redis_client.close()


@dataclass
class Arrival:
    key: tuple[str, int]  # (event_type, window_start)
    window_end: int
    count: int
    at_s: float  # wall clock (time.time()) when the message arrived


@dataclass
class UpdatesListener:
    """Records every pub/sub message on the job's updates channel with its arrival time."""

    client: redis.Redis
    channel: str
    arrivals: list[Arrival] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        pubsub = self.client.pubsub()  # type: ignore[no-untyped-call]
        pubsub.subscribe(self.channel)
        deadline = time.monotonic() + 10
        while not pubsub.get_message(timeout=0.5):  # the subscribe confirmation
            if time.monotonic() > deadline:
                raise TimeoutError(f"no subscription to {self.channel}")

        def run() -> None:
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=0.2)
                if message and message["type"] == "message":
                    at_s = time.time()
                    data = json.loads(message["data"])
                    if data["window_size"] == WINDOW_LABEL:
                        self.arrivals.append(
                            Arrival((data["event_type"], data["window_start"]), data["window_end"], data["count"], at_s)
                        )
            pubsub.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def count_sum(self) -> int:
        """Sum of counts over distinct windows (a window replayed after a restart counts once)."""
        latest = {arrival.key: arrival.count for arrival in list(self.arrivals)}
        return sum(latest.values())

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


def fast_producer(bootstrap: str) -> Producer:
    return Producer({
        "bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
        "linger.ms": 20, "batch.size": 1_000_000, "compression.type": "lz4",
        "queue.buffering.max.messages": 1_000_000,
    })  # fmt: skip


def produce_all(producer: Producer, topic: str, records: Iterator[tuple[int, bytes]]) -> int:
    """Produce (partition, value) records in a tight loop; returns how many were acked."""
    acked = 0
    failed = 0

    def report(error: KafkaError | None, _: Message | None) -> None:
        nonlocal acked, failed
        if error is None:
            acked += 1
        else:
            failed += 1

    for partition, value in records:
        while True:
            try:
                producer.produce(topic, value, partition=partition, on_delivery=report)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(120):
        raise TimeoutError("records not acknowledged within 120 s")
    if failed:
        raise RuntimeError(f"{failed} records failed to produce")
    return acked


# --- phase 1: drain a pre-filled topic -----------------------------------------------------------

EVENT_TYPES = ("page_view", "click", "add_to_cart", "search", "purchase")


def drain_records(count: int, start_ms: int, event_rate: int, seed: int = 7) -> Iterator[tuple[int, bytes]]:
    """`count` events, `event_rate` per second of event time from `start_ms`, disordered by up to 2 s
    (below the 5 s watermark delay, so none is late), spread round-robin over the partitions."""
    rng = random.Random(seed)
    stamped = []
    for index in range(count):
        timestamp = start_ms + index * 1000 // event_rate
        stamped.append((timestamp + rng.randrange(2000), index, timestamp))
    stamped.sort()
    for position, (_, index, timestamp) in enumerate(stamped):
        event_type = EVENT_TYPES[index % len(EVENT_TYPES)]
        yield position % PARTITIONS, encode_event(
            f"d{index}", event_type, f"user-{rng.randrange(5000)}", rng.randrange(400) * 0.25, timestamp, {}
        )


def run_drain(job: BenchJob, events: int, event_rate: int, timeout_s: float) -> dict[str, Any]:
    span_ms = events * 1000 // event_rate
    start_ms = (now_ms() - span_ms - 3_600_000) // 10_000 * 10_000  # an hour before now: not absurd, all closable
    producer = fast_producer(job.settings.kafka_bootstrap_servers)
    fill_started = time.perf_counter()
    produced = produce_all(producer, job.topic, drain_records(events, start_ms, event_rate))
    fill_s = time.perf_counter() - fill_started
    # Past every window end + delay: the last windows close at the end of the topic, not at idle timeout.
    closing = heartbeat_value(start_ms + span_ms + 60_000)
    produced += produce_all(producer, job.topic, ((p, closing) for p in range(PARTITIONS)))
    print(f"drain: {events:,} events in the topic ({fill_s:.1f} s to fill), submitting the job", file=sys.stderr)

    listener = UpdatesListener(job.redis_client, job.keys.updates_channel)
    listener.start()
    load_before = load_average()
    job.submit()
    running_ms = job.running_since_ms()
    deadline = time.monotonic() + timeout_s
    target = events * WINDOWS_PER_EVENT
    while listener.count_sum() < target:
        if time.monotonic() > deadline:
            listener.stop()
            raise TimeoutError(f"drain: windows hold {listener.count_sum():,} of {target:,} counts after {timeout_s}s")
        time.sleep(0.2)
    listener.stop()
    first_s = min(arrival.at_s for arrival in listener.arrivals)
    last_s = max(arrival.at_s for arrival in listener.arrivals)
    drain_s = last_s - running_ms / 1000
    stored = job.window_count_sum()
    return {
        "events": events,
        "records_in_topic": produced,
        "event_time_span_s": span_ms / 1000,
        "windows": len({arrival.key for arrival in listener.arrivals}),
        "redis_count_sum_ok": stored == target,
        "drain_s": drain_s,
        "events_per_s": events / drain_s,
        "first_window_after_s": first_s - running_ms / 1000,
        "events_per_s_after_first_window": events / (last_s - first_s) if last_s > first_s else float("nan"),
        "load_before": load_before,
        "load_after": load_average(),
        "other_running_jobs": job.other_running_jobs(),
    }


# --- phase 2: the reference, Kafka's consumer perf test ------------------------------------------


def consumer_perf(bootstrap: str, topic: str, messages: int, group: str) -> dict[str, Any]:
    """Run ConsumerPerformance on `topic` with a fresh group; its own rate figures (JVM start excluded)."""
    cmd = [
        "java", "-Xmx512m", "-cp", f"{KAFKA_LIBS}/*", "org.apache.kafka.tools.ConsumerPerformance",
        "--bootstrap-server", bootstrap, "--topic", topic, "--messages", str(messages), "--group", group,
        "--timeout", "30000",
    ]  # fmt: skip
    load_before = load_average()
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wall_s = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.strip() and not line.startswith("SLF4J")]
    header_at = next((i for i, line in enumerate(lines) if line.startswith("start.time")), None)
    if done.returncode != 0 or header_at is None or header_at + 1 >= len(lines):
        output = done.stdout[-800:] + done.stderr[-800:]
        raise RuntimeError(f"ConsumerPerformance failed (exit {done.returncode}): {output}")
    names = [name.strip() for name in lines[header_at].split(",")]
    values = [value.strip() for value in lines[header_at + 1].split(",")]
    row = dict(zip(names, values, strict=False))
    return {
        "command": " ".join([*cmd[:2], "-cp", "'localstack/target/kafka-libs/*'", *cmd[4:]]),
        "messages": int(row["data.consumed.in.nMsg"]),
        "msg_per_s": float(row["nMsg.sec"]),
        "fetch_msg_per_s": float(row["fetch.nMsg.sec"]),
        "mb_per_s": float(row["MB.sec"]),
        "rebalance_ms": float(row["rebalance.time.ms"]),
        "wall_s_with_jvm": wall_s,
        "load_before": load_before,
        "load_after": load_average(),
    }


# --- phase 3: emission lag, live -----------------------------------------------------------------


@dataclass
class PartitionLog:
    """Per partition, in produce order: (record timestamp, wall-clock ack time)."""

    records: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, partition: int, timestamp_ms: int, acked_s: float) -> None:
        with self.lock:
            self.records.setdefault(partition, []).append((timestamp_ms, acked_s))

    def watermark_passed_s(self, window_end_ms: int, delay_ms: int) -> float | None:
        """Ack time of the record that took the last partition's watermark to the window's end."""
        needed = window_end_ms - 1 + delay_ms  # watermark = ts - delay must reach window_end - 1 ms
        moments = []
        for partition in range(PARTITIONS):
            records = self.records.get(partition, [])
            moment = next((acked for ts, acked in records if ts >= needed), None)
            if moment is None:
                return None
            moments.append(moment)
        return max(moments)


def run_live(job: BenchJob, seconds: float, rate: int, event_types: int) -> dict[str, Any]:
    listener = UpdatesListener(job.redis_client, job.keys.updates_channel)
    listener.start()
    log = PartitionLog()
    producer = Producer({"bootstrap.servers": job.settings.kafka_bootstrap_servers, "enable.idempotence": True,
                         "acks": "all", "linger.ms": 0})  # fmt: skip
    rng = random.Random(11)
    live_start_ms = now_ms()
    load_before = load_average()

    def produce(partition: int, value: bytes, timestamp: int) -> None:
        def acked(error: KafkaError | None, _: Message | None) -> None:
            if error is None:
                log.add(partition, timestamp, time.time())

        producer.produce(job.topic, value, partition=partition, on_delivery=acked)

    started = time.monotonic()
    sent = 0
    next_heartbeat = started
    while (elapsed := time.monotonic() - started) < seconds:
        if time.monotonic() >= next_heartbeat:
            stamp = now_ms()
            for partition in range(PARTITIONS):
                produce(partition, heartbeat_value(stamp), stamp)
            next_heartbeat += 1.0
        due = int(elapsed * rate)
        while sent < due:
            stamp = now_ms()
            value = encode_event(f"l{sent}", f"live{sent % event_types}", f"user-{rng.randrange(500)}", 1.0, stamp, {})
            produce(sent % PARTITIONS, value, stamp)
            sent += 1
        producer.poll(0.005)
    producer.flush(30)
    last_ts = max(ts for records in log.records.values() for ts, _ in records)
    delay_ms = job.settings.watermark_delay_s * 1000
    # Windows the last records can close; give their messages a few seconds to arrive.
    closable = {(f"live{k}", end - 30_000) for k in range(event_types)
                for end in range(live_start_ms // 10_000 * 10_000 + 10_000, last_ts - delay_ms + 1, 10_000)}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if closable <= {arrival.key for arrival in listener.arrivals}:
            break
        time.sleep(0.2)
    listener.stop()
    precise: list[float] = []
    crude: list[float] = []
    for arrival in listener.arrivals:
        if not arrival.key[0].startswith("live"):
            continue
        passed = log.watermark_passed_s(arrival.window_end, delay_ms)
        if passed is not None:
            precise.append(arrival.at_s - passed)
        crude.append(arrival.at_s - (arrival.window_end + delay_ms) / 1000)
    return {
        "seconds": seconds,
        "rate": rate,
        "events": sent,
        "event_types": event_types,
        "windows": len(precise),
        "expected_windows": len(closable),
        "lag_p50_ms": percentile(precise, 0.5) * 1000,
        "lag_p99_ms": percentile(precise, 0.99) * 1000,
        "lag_max_ms": max(precise, default=float("nan")) * 1000,
        "lag_from_window_end_plus_delay_p50_ms": percentile(crude, 0.5) * 1000,
        "lag_from_window_end_plus_delay_p99_ms": percentile(crude, 0.99) * 1000,
        "load_before": load_before,
        "load_after": load_average(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=300_000, help="events pre-filled for the drain")
    parser.add_argument("--event-rate", type=int, default=1000, help="events per second of event time")
    parser.add_argument("--parallelism", type=int, default=1, help="FLINK_PARALLELISM of the job")
    parser.add_argument("--drain-timeout", type=float, default=900)
    parser.add_argument("--live-seconds", type=float, default=60)
    parser.add_argument("--live-rate", type=int, default=300, help="events/s in the live phase")
    parser.add_argument("--live-event-types", type=int, default=10, help="more types: more windows per slide")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args()

    job = BenchJob.create("flink", flink_parallelism=args.parallelism)
    try:
        drain = run_drain(job, args.events, args.event_rate, args.drain_timeout)
        job.other_groups.append(f"bench-perf-{uuid.uuid4().hex[:8]}")
        perf = consumer_perf(job.settings.kafka_bootstrap_servers, job.topic, drain["records_in_topic"],
                             job.other_groups[-1])
        live = run_live(job, args.live_seconds, args.live_rate, args.live_event_types) if args.live_seconds else {}
    finally:
        job.close()
    ratio = drain["events_per_s"] / perf["fetch_msg_per_s"]
    result = {"drain": drain, "consumer_perf": perf, "job_vs_consumer_perf": ratio, "live": live,
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "nproc": os.cpu_count(),
              "command": "python -m bench.bench_flink " + " ".join(sys.argv[1:])}  # fmt: skip
    print(f"date: {result['date']}; {os.cpu_count()} cores; command: {result['command']}")
    print("| what | figure | load avg before/after |\n|---|---|---|")
    print(f"| job drain, {drain['events']:,} events (parallelism {args.parallelism}) | "
          f"{drain['events_per_s']:,.0f} events/s ({drain['drain_s']:.1f} s from RUNNING; first window after "
          f"{drain['first_window_after_s']:.1f} s; {drain['windows']} windows; Redis sums ok: "
          f"{drain['redis_count_sum_ok']}) | {drain['load_before']:.1f} / {drain['load_after']:.1f} |")
    print(f"| ConsumerPerformance, same topic | {perf['fetch_msg_per_s']:,.0f} msg/s fetch "
          f"({perf['msg_per_s']:,.0f} msg/s incl. group join) | {perf['load_before']:.1f} / {perf['load_after']:.1f} |")
    print(f"| ratio job / consumer perf | {ratio:.3f} | |")
    if live:
        print(f"| emission lag ({live['windows']} windows, {live['rate']} events/s for {live['seconds']:.0f} s) | "
              f"p50 {live['lag_p50_ms']:.0f} ms, p99 {live['lag_p99_ms']:.0f} ms (from window_end + delay: p50 "
              f"{live['lag_from_window_end_plus_delay_p50_ms']:.0f} ms, p99 "
              f"{live['lag_from_window_end_plus_delay_p99_ms']:.0f} ms) | "
              f"{live['load_before']:.1f} / {live['load_after']:.1f} |")
    print(f"other RUNNING Flink jobs on the cluster during the drain: {drain['other_running_jobs']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

