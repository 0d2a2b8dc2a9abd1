"""The durable producer: events go to Kafka asynchronously and each request awaits its acks.

librdkafka batches everything produced by all concurrent requests; a background thread serves
delivery reports (`poll`) and hands each request's outcome to its asyncio future in one hop, so
a request of N events costs one cross-thread wake-up, not N.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from functools import partial

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from contracts.events import Event
from track_service.settings import Settings

log = logging.getLogger("track_service.publisher")

# librdkafka's local queue is full: wait this long before trying to enqueue again.
_QUEUE_FULL_BACKOFF_S = 0.005


class _Outcome:
    """Collects the delivery reports of one request; resolves its future when all are in."""

    def __init__(self, count: int, loop: asyncio.AbstractEventLoop, future: asyncio.Future[list[str | None]]):
        self.errors: list[str | None] = [None] * count
        self._pending = count
        self._lock = threading.Lock()
        self._loop = loop
        self._future = future

    def delivered(self, index: int, error: KafkaError | None, _message: Message | None) -> None:
        self.settle(index, None if error is None else _describe(error))

    def settle(self, index: int, error: str | None) -> None:
        with self._lock:
            self.errors[index] = error
            self._pending -= 1
            done = self._pending == 0
        if done:
            self._loop.call_soon_threadsafe(_resolve, self._future, self.errors)


def _resolve(future: asyncio.Future[list[str | None]], errors: list[str | None]) -> None:
    if not future.done():  # the request may have been cancelled (client went away)
        future.set_result(errors)


def _describe(error: KafkaError) -> str:
    if error.code() == KafkaError._MSG_TIMED_OUT:
        return "Kafka did not acknowledge in time"
    return f"Kafka refused the event: {error.str()}"


class EventPublisher:
    def __init__(self, settings: Settings) -> None:
        self.topic = settings.kafka_events_topic
        self._delivery_timeout_s = settings.track_delivery_timeout_ms / 1000
        self._producer = Producer({**settings.producer_config(), "error_cb": self._on_error})
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._serve_delivery_reports, name="kafka-delivery", daemon=True)
        self.fatal_error: str | None = None

    def start(self) -> None:
        self._poller.start()

    def close(self, timeout_s: float = 10) -> int:
        """Stop serving reports, then flush what is queued; returns how many events were left unsent."""
        self._stop.set()
        if self._poller.is_alive():
            self._poller.join()
        return self._producer.flush(timeout_s)

    def _serve_delivery_reports(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.1)

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            # The idempotent producer cannot continue (e.g. its sequence was lost): report not ready
            # so the orchestrator restarts this process. Events already answered 202 are safe.
            self.fatal_error = error.str()
            log.critical("fatal Kafka producer error: %s", error.str())
        else:
            log.warning("Kafka: %s", error.str())

    async def publish(self, events: Sequence[Event]) -> list[str | None]:
        """Produce every event keyed by user_id; per event None once acked (acks=all), else why it failed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[str | None]] = loop.create_future()
        outcome = _Outcome(len(events), loop, future)
        if self.fatal_error is not None:
            return [f"producer failed: {self.fatal_error}"] * len(events)
        produce = self._producer.produce
        for index, event in enumerate(events):
            on_delivery = partial(outcome.delivered, index)
            try:  # the common case, kept free of awaits
                produce(self.topic, event.to_kafka_value(), key=event.user_id, on_delivery=on_delivery)
                continue
            except (BufferError, KafkaException):
                pass
            error = await self._enqueue_patiently(event, on_delivery)
            if error is not None:
                outcome.settle(index, error)
        return await future

    async def _enqueue_patiently(self, event: Event, on_delivery: partial[None]) -> str | None:
        value = event.to_kafka_value()
        deadline = time.monotonic() + self._delivery_timeout_s
        while True:
            try:
                self._producer.produce(self.topic, value, key=event.user_id, on_delivery=on_delivery)
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
