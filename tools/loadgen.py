"""Load generator: realistic, reproducible traffic into /track/batch, /track or straight into Kafka.

    python -m tools.loadgen --rate 2000 --duration 30 --seed 7 [--via http|kafka]
        [--url http://localhost:8001] [--batch-size 200] [--concurrency 4] [--single]
        [--jitter-ms 3000] [--late-fraction 0.01 --late-by-ms 60000] [--start-ms EPOCH_MS]

Several event types with their own value distributions, user popularity skewed (Zipf-like), and
optional event-time disorder: every event is moved back by up to --jitter-ms, and a --late-fraction
of them by --late-by-ms more. The same --seed gives the same events (ids, users, values, and with
--start-ms the same timestamps). Progress goes to stderr each second; the achieved rate is printed
at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
from confluent_kafka import KafkaError, Message, Producer

from contracts.events import MIN_TIMESTAMP_MS, encode_event, now_ms
from contracts.settings import load_settings
from track_service.settings import Settings

PAGES = ["/", "/search", "/product", "/cart", "/checkout", "/account"]


def _value_page_view(rng: random.Random) -> float:
    return round(rng.lognormvariate(2.5, 0.9), 2)  # seconds on the page


def _value_purchase(rng: random.Random) -> float:
    return round(rng.lognormvariate(3.6, 0.8), 2)  # order amount


def _value_add_to_cart(rng: random.Random) -> float:
    return round(rng.lognormvariate(3.0, 0.7), 2)  # item price


def _value_one(_: random.Random) -> float:
    return 1.0


# event_type -> (share of traffic, value distribution)
EVENT_TYPES: dict[str, tuple[float, Callable[[random.Random], float]]] = {
    "page_view": (0.50, _value_page_view),
    "click": (0.30, _value_one),
    "add_to_cart": (0.10, _value_add_to_cart),
    "search": (0.07, _value_one),
    "purchase": (0.03, _value_purchase),
}


@dataclass
class Traffic:
    """What the generated events look like."""

    seed: int = 1
    users: int = 1000
    user_skew: float = 1.1  # Zipf exponent: user k is (1/k)^skew as active as user 1
    jitter_ms: int = 0
    late_fraction: float = 0.0
    late_by_ms: int = 60_000
    start_ms: int | None = None  # fixed event-time origin (reproducible); None uses the wall clock
    rate: float = 1000.0  # events/s, spaces event times when start_ms is set


class EventGenerator:
    def __init__(self, traffic: Traffic) -> None:
        self.traffic = traffic
        self._rng = random.Random(traffic.seed)
        self._types = list(EVENT_TYPES)
        self._type_weights = list(itertools.accumulate(share for share, _ in EVENT_TYPES.values()))
        self._user_weights = list(
            itertools.accumulate(1 / (rank ** traffic.user_skew) for rank in range(1, traffic.users + 1))
        )
        self._count = 0

    def _pick(self, cumulative: list[float]) -> int:
        return bisect.bisect_left(cumulative, self._rng.random() * cumulative[-1])

    def next_event(self) -> dict[str, Any]:
        rng, traffic = self._rng, self.traffic
        event_type = self._types[self._pick(self._type_weights)]
        user = self._pick(self._user_weights)
        if traffic.start_ms is not None:
            base_ms = traffic.start_ms + int(self._count * 1000 / max(traffic.rate, 1e-9))
        else:
            base_ms = now_ms()
        timestamp = base_ms - (rng.randrange(traffic.jitter_ms + 1) if traffic.jitter_ms else 0)
        if traffic.late_fraction and rng.random() < traffic.late_fraction:
            timestamp -= traffic.late_by_ms
        self._count += 1
        return {
            "event_id": uuid.UUID(int=rng.getrandbits(128), version=4).hex,
            "event_type": event_type,
            "user_id": f"user-{user:05d}",
            "value": EVENT_TYPES[event_type][1](rng),
            "timestamp": max(timestamp, MIN_TIMESTAMP_MS),
            "properties": {"page": PAGES[rng.randrange(len(PAGES))]},
        }

    def batches(self, size: int, total: int | None) -> Iterator[list[dict[str, Any]]]:
        produced = 0
        while total is None or produced < total:
            take = size if total is None else min(size, total - produced)
            yield [self.next_event() for _ in range(take)]
            produced += take


class BatchCounts(msgspec.Struct):
    """The counts of a /track/batch answer; its per-item results are skipped, not built."""

    accepted: int
    rejected: int
    failed: int


_decode_counts = msgspec.json.Decoder(BatchCounts).decode


@dataclass
class Tally:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    failed: int = 0
    latencies_s: list[float] = field(default_factory=list)  # one per request (or per Kafka batch)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def elapsed_s(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        return self.accepted / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def percentile_ms(self, fraction: float) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    def count_track_answer(self, status: int) -> None:
        """Add a /track answer: 202 accepted, another 4xx rejected, anything else failed."""
        if status == 202:
            self.accepted += 1
        elif 400 <= status < 500:
            self.rejected += 1
        else:
            self.failed += 1

    def count_batch_answer(self, status: int, body: bytes, events: int) -> None:
        """Add a /track/batch answer's counts; a request that got none failed as a whole."""
        if status in (202, 422, 503):
            try:
                counts = _decode_counts(body)
            except msgspec.DecodeError:
                pass  # not a batch result (e.g. a 422 for the whole body)
            else:
                self.accepted += counts.accepted
                self.rejected += counts.rejected
                self.failed += counts.failed
                return
        self.failed += events

    def line(self) -> str:
        return (f"{self.elapsed_s:6.1f}s sent {self.sent} accepted {self.accepted} rejected {self.rejected} "
                f"failed {self.failed} ({self.rate:,.0f} events/s)")


class Sender:
    async def send(self, batch: list[dict[str, Any]], tally: Tally) -> None:
        raise NotImplementedError

    async def close(self, tally: Tally) -> None:
        return None


_JSON = {"content-type": "application/json"}




class HttpBatchSender(Sender):
    def __init__(self, url: str, api_key: str | None, single: bool, concurrency: int) -> None:
        headers = {"X-API-Key": api_key} if api_key else {}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.client = httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30)
        self.single = single

    async def send(self, batch: list[dict[str, Any]], tally: Tally) -> None:
        if self.single:  # one request at a time per worker: --concurrency requests in flight
            for event in batch:
                await self._send_one(event, tally)
            return
        payload = msgspec.json.encode({"events": batch})
        started = time.perf_counter()
        try:
            response = await self.client.post("/track/batch", content=payload, headers=_JSON)
        except httpx.HTTPError:
            tally.failed += len(batch)
            return
        tally.latencies_s.append(time.perf_counter() - started)
        tally.count_batch_answer(response.status_code, response.content, len(batch))

    async def _send_one(self, event: dict[str, Any], tally: Tally) -> None:
        started = time.perf_counter()
        try:
            response = await self.client.post("/track", json=event)
        except httpx.HTTPError:
            tally.failed += 1
            return
        tally.latencies_s.append(time.perf_counter() - started)
        tally.count_track_answer(response.status_code)

    async def close(self, tally: Tally) -> None:
        await self.client.aclose()


class KafkaSender(Sender):
    """Straight into the topic, keyed by user_id, with the service's durable producer settings."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.producer = Producer(settings.producer_config())
        self.topic = topic

    async def send(self, batch: list[dict[str, Any]], tally: Tally) -> None:
        started = time.perf_counter()

        def delivered(error: KafkaError | None, _: Message | None) -> None:
            if error is None:
                tally.accepted += 1
            else:
                tally.failed += 1

        for event in batch:
            while True:
                try:
                    self.producer.produce(self.topic, encode_event(**event), key=event["user_id"],
                                          on_delivery=delivered)
                    break
                except BufferError:
                    self.producer.poll(0.05)
        self.producer.poll(0)
        tally.latencies_s.append(time.perf_counter() - started)

    async def close(self, tally: Tally) -> None:
        await asyncio.to_thread(self.producer.flush, 30)
        self.producer.poll(0)


async def run_load(
    generator: EventGenerator, sender: Sender, rate: float, batch_size: int, count: int | None,
    duration_s: float | None, concurrency: int = 4, progress: Callable[[Tally], None] | None = None,
) -> Tally:
    """Send `count` events or for `duration_s` at `rate` events/s (0: as fast as possible)."""
    tally = Tally()
    queue: asyncio.Queue[list[dict[str, Any]] | None] = asyncio.Queue(maxsize=concurrency * 2)

    async def pace() -> None:
        for batch in generator.batches(batch_size, count):
            if duration_s is not None and tally.elapsed_s >= duration_s:
                break
            if rate > 0:
                due = tally.started + tally.sent / rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await queue.put(batch)
            tally.sent += len(batch)
        for _ in range(concurrency):
            await queue.put(None)

    async def work() -> None:
        while (batch := await queue.get()) is not None:
            await sender.send(batch, tally)

    async def report() -> None:
        while progress is not None:
            await asyncio.sleep(1)
            progress(tally)

    reporter = asyncio.create_task(report())
    try:
        await asyncio.gather(pace(), *(work() for _ in range(concurrency)))
        await sender.close(tally)
    finally:
        reporter.cancel()
    tally.finished = time.monotonic()
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.loadgen", description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000, help="events/s; 0 = as fast as possible")
    parser.add_argument("--duration", type=float, default=None, help="seconds to run")
    parser.add_argument("--count", type=int, default=None, help="events to send (default 10000 without --duration)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--via", choices=["http", "kafka"], default="http")
    parser.add_argument("--url", default="http://localhost:8001", help="track_service base URL (--via http)")
    parser.add_argument("--single", action="store_true", help="POST each event to /track instead of /track/batch")
    parser.add_argument("--api-key", default=None, help="write key when the service sets TRACK_API_KEYS")
    parser.add_argument("--topic", default=None, help="topic for --via kafka (default KAFKA_EVENTS_TOPIC)")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--user-skew", type=float, default=1.1)
    parser.add_argument("--jitter-ms", type=int, default=0, help="move each event back in time by up to this")
    parser.add_argument("--late-fraction", type=float, default=0.0, help="share of events sent late")
    parser.add_argument("--late-by-ms", type=int, default=60_000, help="how late the late ones are")
    parser.add_argument("--start-ms", type=int, default=None, help="fixed event-time origin (reproducible)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.concurrency < 1 or args.users < 1 or not 0 <= args.late_fraction <= 1:
        parser.error("--batch-size, --concurrency and --users must be >= 1; --late-fraction in [0, 1]")
    count = args.count if args.count is not None or args.duration is not None else 10_000
    traffic = Traffic(seed=args.seed, users=args.users, user_skew=args.user_skew, jitter_ms=args.jitter_ms,
                      late_fraction=args.late_fraction, late_by_ms=args.late_by_ms, start_ms=args.start_ms,
                      rate=args.rate or 1000.0)
    sender: Sender
    if args.via == "kafka":
        settings = load_settings(Settings)
        sender = KafkaSender(settings, args.topic or settings.kafka_events_topic)
    else:
        sender = HttpBatchSender(args.url, args.api_key, args.single, args.concurrency)

    def progress(tally: Tally) -> None:
        print(f"[loadgen] {tally.line()}", file=sys.stderr, flush=True)

    tally = asyncio.run(run_load(EventGenerator(traffic), sender, args.rate, args.batch_size, count,
                                 args.duration, args.concurrency, None if args.quiet else progress))
    print(f"loadgen: {tally.line()}; achieved {tally.rate:,.0f} events/s via {args.via}; "
          f"latency p50 {tally.percentile_ms(0.5):.1f} ms p99 {tally.percentile_ms(0.99):.1f} ms")
    return 0 if tally.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
