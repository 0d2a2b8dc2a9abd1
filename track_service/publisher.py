"""The durable producer: events go to Kafka asynchronously and each request awaits its acks.

librdkafka batches everything produced by all concurrent requests. Delivery reports are served by
`poll(0)` on the event loop itself, every millisecond while events await their acks: a reporting
thread would trade the GIL with the request handlers once per event, which cost more than the
reports themselves (measured: about a third of the batch endpoint's throughput).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from track_service.records import EventRecord
from track_service.settings import Settings

log = logging.getLogger("track_service.publisher")

# librdkafka's local queue is full: wait this long before trying to enqueue again.
_QUEUE_FULL_BACKOFF_S = 0.005
# How often delivery reports are served while events await acks, and (for errors) when none do.
_BUSY_POLL_S = 0.001
_IDLE_POLL_S = 0.5


class RequestDeliveries:
    """Collects the delivery reports of one request's records; resolves its future when all are in.

    One callback serves every record of the request (a per-record closure costs about as much as
    the report itself); a failed record is found again by its value, which is unique within a request
    unless it holds the same event twice, and then either copy may be the one reported failed.
    """

    def __init__(self, records: Sequence[EventRecord], future: asyncio.Future[list[str | None]]):
        self.records = records
        self.errors: list[str | None] = [None] * len(records)
        self._pending = len(records)
        self._future = future
        self._unreported: dict[bytes, list[int]] | None = None  # value -> indexes, built at the first failure
        if not records:
            future.set_result(self.errors)

    def delivered(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self.errors[self._index_of(message.value())] = _describe(error)
        self._one_settled()

    def settle(self, index: int, error: str) -> None:
        """Record a failure found without a delivery report (the record never reached the queue)."""
        self.errors[index] = error
        self._one_settled()

    def _one_settled(self) -> None:
        self._pending -= 1
        if not self._pending and not self._future.done():  # done: the request was cancelled
            self._future.set_result(self.errors)

    def _index_of(self, value: bytes | None) -> int:
        if self._unreported is None:
            self._unreported = {}
            for index, record in enumerate(self.records):
                if self.errors[index] is None:
                    self._unreported.setdefault(record[2], []).append(index)
        return self._unreported[value or b""].pop()


def _describe(error: KafkaError) -> str:
    if error.code() == KafkaError._MSG_TIMED_OUT:
        return "Kafka did not acknowledge in time"
    return f"Kafka refused the event: {error.str()}"


class EventPublisher:
    """The service's producer; create, start and close it on the event loop that publishes."""

    def __init__(self, settings: Settings) -> None:
        self.topic = settings.kafka_events_topic
        self._delivery_timeout_s = settings.track_delivery_timeout_ms / 1000
        self._producer = Producer({**settings.producer_config(), "error_cb": self._on_error})
        self._awaiting_acks = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self.fatal_error: str | None = None

    def start(self) -> None:
        self._poller = asyncio.get_running_loop().create_task(self._serve_delivery_reports())

    async def close(self, timeout_s: float = 10) -> int:
        """Wait up to `timeout_s` for queued events' acks; returns how many events were left unacknowledged."""
        deadline = time.monotonic() + timeout_s
        while len(self._producer) and time.monotonic() < deadline:
            self._producer.poll(0)
            await asyncio.sleep(_BUSY_POLL_S * 10)
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        return len(self._producer)

    async def _serve_delivery_reports(self) -> None:
        while True:
            self._producer.poll(0)
            if len(self._producer):  # events (or protocol requests) still await the broker
                await asyncio.sleep(_BUSY_POLL_S)
                continue
            self._awaiting_acks.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._awaiting_acks.wait(), _IDLE_POLL_S)

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            # The idempotent producer cannot continue (e.g. its sequence was lost): report not ready
            # so the orchestrator restarts this process. Events already answered 202 are safe.
            self.fatal_error = error.str()
            log.critical("fatal Kafka producer error: %s", error.str())
        else:
            log.warning("Kafka: %s", error.str())

    async def publish(self, records: Sequence[EventRecord]) -> list[str | None]:
        """Produce every record keyed by user_id; per record None once acked (acks=all), else why it failed."""
        if self.fatal_error is not None:
            return [f"producer failed: {self.fatal_error}"] * len(records)
        future: asyncio.Future[list[str | None]] = asyncio.get_running_loop().create_future()
        outcome = RequestDeliveries(records, future)
        # One call queues the whole request (partitioned by key as produce() does, measured equal);
        # a message librdkafka could not queue (e.g. its queue is full) comes back marked "_error".
        messages = [{"value": record[2], "key": record[1]} for record in records]
        on_delivery = outcome.delivered
        if self._producer.produce_batch(self.topic, messages, on_delivery=on_delivery) < len(messages):
            for index, message in enumerate(messages):
                if "_error" in message:
                    self._awaiting_acks.set()
                    error = await self._enqueue_patiently(records[index], on_delivery)
                    if error is not None:
                        outcome.settle(index, error)
        self._awaiting_acks.set()
        return await future

    async def _enqueue_patiently(
        self, record: EventRecord, on_delivery: Callable[[KafkaError | None, Message], None]
    ) -> str | None:
        deadline = time.monotonic() + self._delivery_timeout_s
        while True:
            try:
                self._producer.produce(self.topic, record[2], key=record[1], on_delivery=on_delivery)
                return None
            except BufferError:
                # The local queue is full (Kafka slow or gone): wait for room, within the same bound.
                if time.monotonic() >= deadline:
                    return "the producer queue stayed full: Kafka is not keeping up"
                await asyncio.sleep(_QUEUE_FULL_BACKOFF_S)
            except KafkaException as error:
                return f"Kafka refused the event: {error.args[0].str() if error.args else error}"

    def kafka_reachable(self, timeout_s: float = 2.0) -> str | None:
        """None when a broker answers and the topic has partitions; else what is wrong (blocking)."""
        if self.fatal_error is not None:
            return f"producer failed: {self.fatal_error}"
        try:
            metadata = self._producer.list_topics(self.topic, timeout=timeout_s)
        except KafkaException as error:
            return f"Kafka unreachable: {error.args[0].str() if error.args else error}"
        topic = metadata.topics.get(self.topic)
        if not metadata.brokers or topic is None or topic.error is not None or not topic.partitions:
            problem = topic.error.str() if topic is not None and topic.error is not None else "no partitions"
            return f"topic {self.topic} not available: {problem}"
        return None
