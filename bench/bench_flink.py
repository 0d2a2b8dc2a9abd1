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
4. With --replay, the replay (`python -m flink_service.replay`, a bounded batch job) rebuilds the drain's
   windows from the same topic into a PostgreSQL schema of its own: its rate is the events over the time from
   its job's RUNNING timestamp to the command's exit (every window written), compared with the drain's.
"""

from __future__ import annotations

import argparse
import contextlib
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

from confluent_kafka import KafkaError, Message, Producer

from bench.figures import Row, load_average, number, percentile, publish, ratio
from bench.processes import descendants, supervised_pids, tree_cpu_s
from contracts.events import encode_event, heartbeat_value, now_ms
from contracts.settings import PostgresSettings, load_settings, to_env
from contracts.windows import parse_window_specs
from flink_service.replay import ms_iso
from flink_service.settings import Settings
from harness.flink_job import PrivateJob
from harness.infra import local_flink, unique_name
from harness.stores import drop_schemas, fetch_rows
from harness.waiting import wait_until
from harness.windows import UpdatesCollector
from localstack.settings import KAFKA_LIBS

WINDOW_SPEC = "30s/10s"
WINDOW_LABEL = "30s"
WINDOWS_PER_EVENT = 3  # a 30 s window sliding every 10 s holds each event three times
PARTITIONS = 3


@dataclass
class DrainFigures:
    events: int
    records_in_topic: int
    event_time_span_s: float
    windows: int
    redis_count_sum_ok: bool
    drain_s: float
    events_per_s: float
    first_window_after_s: float
    events_per_s_after_first_window: float
    load_before: float
    load_after: float
    other_running_jobs: int
    users: int
    max_unique_users: int  # in one window
    taskmanagers: int
    taskmanager_peak_rss_mb: float  # JVMs and their Python workers, over the drain
    # CPU seconds the TaskManagers (and their Python workers) spent from the submit to the last window: the
    # job's work whatever else shares the cores (other jobs in the same TaskManagers count too: see
    # other_running_jobs), so runs compare better on a loaded machine than by their wall-clock rates.
    taskmanager_cpu_s: float = float("nan")
    start_ms: int = 0  # the first event's time

    @property
    def events_per_taskmanager_cpu_s(self) -> float:
        return self.events / self.taskmanager_cpu_s if self.taskmanager_cpu_s > 0 else float("nan")


@dataclass
class ConsumerPerfFigures:
    command: str
    messages: int
    msg_per_s: float
    fetch_msg_per_s: float
    mb_per_s: float
    rebalance_ms: float
    wall_s_with_jvm: float
    load_before: float
    load_after: float


@dataclass
class LiveFigures:
    seconds: float
    rate: int
    events: int
    event_types: int
    windows: int
    expected_windows: int
    lag_p50_ms: float
    lag_p99_ms: float
    lag_max_ms: float
    lag_from_window_end_plus_delay_p50_ms: float
    lag_from_window_end_plus_delay_p99_ms: float
    load_before: float
    load_after: float


@dataclass
class ReplayFigures:
    command: str
    events: int
    windows_written: int  # rows in the replay's own schema, every window spec
    parallelism: int  # of the replay's batch job
    running_to_exit_s: float
    wall_s: float  # the whole command: planning, submission, the job, the last write
    events_per_s: float
    load_before: float
    load_after: float


@dataclass
class FlinkResult:
    parallelism: int
    features: str  # percentiles, breakdowns
    drain: DrainFigures
    consumer_perf: ConsumerPerfFigures
    job_vs_consumer_perf: float
    live: LiveFigures | None
    other_running_jobs: int  # on the cluster during the drain
    replay: ReplayFigures | None = None

    def summary_rows(self) -> list[Row]:
        drain, perf, live = self.drain, self.consumer_perf, self.live
        rows = [
            [f"Aggregation: job drains {drain.events:,} events", number(drain.events_per_s, " events/s"),
             f"ConsumerPerformance {number(perf.fetch_msg_per_s, ' msg/s')}", ratio(self.job_vs_consumer_perf),
             f"{drain.drain_s:.0f} s from RUNNING, first window at {drain.first_window_after_s:.0f} s; "
             f"{number(drain.events_per_s_after_first_window, ' events/s')} after it; {self.features}; "
             f"up to {drain.max_unique_users:,} users in a window; "
             f"TaskManager peak {drain.taskmanager_peak_rss_mb:,.0f} MiB, {drain.taskmanager_cpu_s:.1f} CPU-s "
             f"({number(drain.events_per_taskmanager_cpu_s, ' events/CPU-s')})"],
        ]  # fmt: skip
        if self.replay:
            replay = self.replay
            rows.append([f"Replay of the same {replay.events:,} events", number(replay.events_per_s, " events/s"),
                         f"the drain {number(drain.events_per_s, ' events/s')}",
                         ratio(replay.events_per_s / drain.events_per_s),
                         f"{replay.running_to_exit_s:.0f} s from RUNNING to the last window written "
                         f"({replay.wall_s:.0f} s for the whole command), {replay.windows_written:,} windows, "
                         f"parallelism {replay.parallelism} (the drain's: {self.parallelism})"])
        if live:
            lag = f"p50 {live.lag_p50_ms:.0f} ms, p99 {live.lag_p99_ms:.0f} ms"
            crude = f"p50 {live.lag_from_window_end_plus_delay_p50_ms:.0f} ms"
            rows.append([f"Emission lag ({live.windows} windows)", lag, "watermark passing window end", "",
                         f"{live.rate} events/s live; from window_end + delay: {crude}"])
        return rows


def distinct_count_sum(collector: UpdatesCollector) -> int:
    """Sum of counts over distinct WINDOW_LABEL windows published (a window replayed after a restart counts once)."""
    latest = {w.key: w.count for w in collector.messages if w.window_size == WINDOW_LABEL and not w.breakdown}
    return sum(latest.values())


def stored_count_sum(job: PrivateJob) -> int:
    """Sum of `count` over every WINDOW_LABEL window in Redis (3 x events once all have closed)."""
    return sum(w.count for w in job.redis_windows().values() if w.window_size == WINDOW_LABEL and not w.breakdown)


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
COUNTRIES = tuple(f"c{n:02d}" for n in range(40))  # a breakdown property of at most 50 values (issue 16)


def drain_records(count: int, start_ms: int, event_rate: int, users: int = 5000, event_types: int = 5,
                  seed: int = 7) -> Iterator[tuple[int, bytes]]:
    """`count` events, `event_rate` per second of event time from `start_ms`, disordered by up to 2 s
    (below the 5 s watermark delay, so none is late), spread round-robin over the partitions; users drawn
    from `users` (at least that many events: each user once, in order), a `country` of 40 values."""
    rng = random.Random(seed)
    stamped = []
    for index in range(count):
        timestamp = start_ms + index * 1000 // event_rate
        stamped.append((timestamp + rng.randrange(2000), index, timestamp))
    stamped.sort()
    for position, (_, index, timestamp) in enumerate(stamped):
        event_type = EVENT_TYPES[index % event_types]
        user = index if users >= count else rng.randrange(users)
        value = encode_event(f"d{index}", event_type, f"user-{user}", rng.randrange(400) * 0.25, timestamp,
                             {"country": COUNTRIES[index % len(COUNTRIES)]})
        yield position % PARTITIONS, value


def _rss_bytes(pid: int) -> int:
    with contextlib.suppress(OSError, StopIteration):
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        return int(next(line.split()[1] for line in status if line.startswith("VmRSS:"))) * 1024
    return 0


class MemoryWatch:
    """Peak resident memory of the local stack's TaskManagers and their Python workers, sampled every 0.5 s."""

    def __init__(self) -> None:
        self.pids = supervised_pids("taskmanager")
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            resident = sum(_rss_bytes(pid) for root in self.pids for pid in descendants(root))
            self.peak = max(self.peak, resident)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def run_drain(job: PrivateJob, events: int, event_rate: int, timeout_s: float, users: int = 5000,
              event_types: int = 5) -> DrainFigures:
    span_ms = events * 1000 // event_rate
    start_ms = (now_ms() - span_ms - 3_600_000) // 10_000 * 10_000  # an hour before now: not absurd, all closable
    producer = fast_producer(job.settings.kafka_bootstrap_servers)
    fill_started = time.perf_counter()
    produced = produce_all(producer, job.topic, drain_records(events, start_ms, event_rate, users, event_types))
    fill_s = time.perf_counter() - fill_started
    # Past every window end + delay: the last windows close at the end of the topic, not at idle timeout.
    closing = heartbeat_value(start_ms + span_ms + 60_000)
    produced += produce_all(producer, job.topic, ((p, closing) for p in range(PARTITIONS)))
    print(f"drain: {events:,} events in the topic ({fill_s:.1f} s to fill), submitting the job", file=sys.stderr)

    collector = UpdatesCollector(job.redis_client, job.keys.updates_channel).start()
    load_before = load_average()
    memory = MemoryWatch()
    cpu_before_s = sum(tree_cpu_s(pid) for pid in memory.pids)
    job.submit()
    running_ms = job.running_since_ms()
    target = events * WINDOWS_PER_EVENT
    try:
        with memory:
            wait_until(lambda: distinct_count_sum(collector) >= target, timeout_s, f"windows holding {target:,} counts")
    except TimeoutError as error:
        raise TimeoutError(f"drain: {error} (they hold {distinct_count_sum(collector):,})") from None
    finally:
        collector.stop()
    # A TaskManager restarted meanwhile (its CPU time gone with it) leaves the figure unknown.
    cpu_s = (sum(tree_cpu_s(pid) for pid in memory.pids) - cpu_before_s
             if supervised_pids("taskmanager") == memory.pids else float("nan"))
    arrivals = [arrival for arrival in collector.arrivals if arrival.window.window_size == WINDOW_LABEL]
    first_s = min(arrival.at_s for arrival in arrivals)
    last_s = max(arrival.at_s for arrival in arrivals)
    drain_s = last_s - running_ms / 1000
    return DrainFigures(
        events=events, records_in_topic=produced, event_time_span_s=span_ms / 1000,
        windows=len({arrival.window.key for arrival in arrivals}), redis_count_sum_ok=stored_count_sum(job) == target,
        drain_s=drain_s, events_per_s=events / drain_s, first_window_after_s=first_s - running_ms / 1000,
        events_per_s_after_first_window=events / (last_s - first_s) if last_s > first_s else float("nan"),
        load_before=load_before, load_after=load_average(), other_running_jobs=job.other_running_jobs(),
        users=users, max_unique_users=max_unique_users(collector), taskmanagers=len(memory.pids),
        taskmanager_peak_rss_mb=memory.peak / 2**20, taskmanager_cpu_s=cpu_s, start_ms=start_ms,
    )  # fmt: skip


def run_replay(job: PrivateJob, drain: DrainFigures, window_specs: str, parallelism: int) -> ReplayFigures:
    """Replay the drain's event-time range from its topic into a schema of its own (dropped afterwards)."""
    schema = unique_name("replay", owner="bench").replace("-", "_")
    pg = load_settings(PostgresSettings)
    end_ms = drain.start_ms + int(drain.event_time_span_s * 1000)
    cmd = [sys.executable, "-m", "flink_service.replay", "--from", ms_iso(drain.start_ms - 60_000),
           "--to", ms_iso(end_ms + 60_000), "--window-specs", window_specs, "--parallelism", str(parallelism)]
    env = {**os.environ, **to_env(job.settings), **local_flink().client_env(), "POSTGRES_SCHEMA": schema}
    known = {summary.job_id for summary in job.cluster.jobs()}
    load_before = load_average()
    print(f"replay: {' '.join(cmd[1:])}", file=sys.stderr)
    started = time.time()
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
        exited = time.time()
        if done.returncode != 0:
            raise RuntimeError(f"replay failed (exit {done.returncode}): {done.stdout[-3000:]}{done.stderr[-3000:]}")
        replay_job = next(summary.job_id for summary in job.cluster.jobs() if summary.job_id not in known)
        running_to_exit_s = exited - int(job.cluster.job(replay_job)["timestamps"]["RUNNING"]) / 1000
        written = len(fetch_rows(pg.postgres_dsn, schema))
    finally:
        drop_schemas(pg.postgres_dsn, [schema])
    return ReplayFigures(
        command=" ".join(["python", *cmd[1:]]), events=drain.events, windows_written=written, parallelism=parallelism,
        running_to_exit_s=running_to_exit_s, wall_s=exited - started, events_per_s=drain.events / running_to_exit_s,
        load_before=load_before, load_after=load_average(),
    )  # fmt: skip


def max_unique_users(collector: UpdatesCollector) -> int:
    return max((w.unique_users for w in collector.messages if w.window_size == WINDOW_LABEL), default=0)


# --- phase 2: the reference, Kafka's consumer perf test ------------------------------------------


def consumer_perf(bootstrap: str, topic: str, messages: int, group: str) -> ConsumerPerfFigures:
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
    return ConsumerPerfFigures(
        command=" ".join([*cmd[:2], "-cp", "'localstack/target/kafka-libs/*'", *cmd[4:]]),
        messages=int(row["data.consumed.in.nMsg"]), msg_per_s=float(row["nMsg.sec"]),
        fetch_msg_per_s=float(row["fetch.nMsg.sec"]), mb_per_s=float(row["MB.sec"]),
        rebalance_ms=float(row["rebalance.time.ms"]), wall_s_with_jvm=wall_s,
        load_before=load_before, load_after=load_average(),
    )  # fmt: skip


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


def run_live(job: PrivateJob, seconds: float, rate: int, event_types: int) -> LiveFigures:
    collector = UpdatesCollector(job.redis_client, job.keys.updates_channel).start()
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
    closable = {(f"live{k}", WINDOW_LABEL, end - 30_000) for k in range(event_types)
                for end in range(live_start_ms // 10_000 * 10_000 + 10_000, last_ts - delay_ms + 1, 10_000)}
    with contextlib.suppress(TimeoutError):  # then measured on those that arrived
        wait_until(lambda: closable <= {window.key for window in collector.messages}, 15, "the closable windows")
    collector.stop()
    precise: list[float] = []
    crude: list[float] = []
    for arrival in collector.arrivals:
        window = arrival.window
        if window.window_size != WINDOW_LABEL or not window.event_type.startswith("live") or window.breakdown:
            continue
        passed = log.watermark_passed_s(window.window_end, delay_ms)
        if passed is not None:
            precise.append(arrival.at_s - passed)
        crude.append(arrival.at_s - (window.window_end + delay_ms) / 1000)
    return LiveFigures(
        seconds=seconds, rate=rate, events=sent, event_types=event_types, windows=len(precise),
        expected_windows=len(closable), lag_p50_ms=percentile(precise, 0.5) * 1000,
        lag_p99_ms=percentile(precise, 0.99) * 1000, lag_max_ms=max(precise, default=float("nan")) * 1000,
        lag_from_window_end_plus_delay_p50_ms=percentile(crude, 0.5) * 1000,
        lag_from_window_end_plus_delay_p99_ms=percentile(crude, 0.99) * 1000,
        load_before=load_before, load_after=load_average(),
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=300_000, help="events pre-filled for the drain")
    parser.add_argument("--event-rate", type=int, default=1000, help="events per second of event time")
    parser.add_argument("--parallelism", type=int, default=1, help="FLINK_PARALLELISM of the job")
    parser.add_argument("--drain-timeout", type=float, default=900)
    parser.add_argument("--live-seconds", type=float, default=60)
    parser.add_argument("--live-rate", type=int, default=300, help="events/s in the live phase")
    parser.add_argument("--live-event-types", type=int, default=10, help="more types: more windows per slide")
    parser.add_argument("--users", type=int, default=5000,
                        help="distinct users; at least --events gives every event its own user")
    parser.add_argument("--event-types", type=int, choices=range(1, len(EVENT_TYPES) + 1), default=len(EVENT_TYPES),
                        metavar="1-5", help="event types of the drain (1: every user of the drain in one window)")
    parser.add_argument("--no-percentiles", action="store_true", help="WINDOW_PERCENTILES=false")
    parser.add_argument("--breakdown", action="store_true", help="BREAKDOWN_PROPERTIES=country (40 values)")
    parser.add_argument("--window-specs", default=WINDOW_SPEC,
                        help="WINDOW_SPECS of the job, e.g. the history tiers 30s/10s,1m/1m,5m/5m,1h/1h; must hold "
                        f"{WINDOW_SPEC} (its windows tell when the drain is done)")
    parser.add_argument("--replay", action="store_true",
                        help="also replay the drain's range into PostgreSQL and compare its rate (issue 17)")
    parser.add_argument("--replay-parallelism", type=int, default=PARTITIONS,
                        help="of the replay's batch job (the replay's own default: the topic's partitions)")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args()
    if WINDOW_SPEC not in [str(spec) for spec in parse_window_specs(args.window_specs)]:
        parser.error(f"--window-specs must hold {WINDOW_SPEC}")

    features = {"window_percentiles": not args.no_percentiles,
                "breakdown_properties": "country" if args.breakdown else ""}
    described = ", ".join([("percentiles on" if not args.no_percentiles else "percentiles off"),
                           ("breakdown by country" if args.breakdown else "no breakdown"),
                           f"WINDOW_SPECS={args.window_specs}"])
    job = PrivateJob.create(load_settings(Settings), PARTITIONS, owner="bench", window_specs=args.window_specs,
                            flink_parallelism=args.parallelism, **features)
    try:
        drain = run_drain(job, args.events, args.event_rate, args.drain_timeout, args.users,
                          args.event_types)
        job.other_groups.append(f"bench-perf-{uuid.uuid4().hex[:8]}")
        perf = consumer_perf(job.settings.kafka_bootstrap_servers, job.topic, drain.records_in_topic,
                             job.other_groups[-1])
        replay = run_replay(job, drain, args.window_specs, args.replay_parallelism) if args.replay else None
        live = run_live(job, args.live_seconds, args.live_rate, args.live_event_types) if args.live_seconds else None
    finally:
        job.close()
    publish(FlinkResult(args.parallelism, described, drain, perf, drain.events_per_s / perf.fetch_msg_per_s, live,
                        drain.other_running_jobs, replay), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
