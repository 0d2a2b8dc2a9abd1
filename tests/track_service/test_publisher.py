"""How delivery reports map back to a request's items (pure: reports are built, no broker)."""

from __future__ import annotations

import asyncio

from confluent_kafka import KafkaError, Message

from track_service.publisher import RequestDeliveries
from track_service.records import EventRecord


async def test_each_failed_report_lands_on_its_own_item() -> None:
    # values 0 and 3, 1 and 4 are equal
    records: list[EventRecord] = [(f"e{i}", "u", f"value-{i % 3}".encode(), True, "click") for i in range(5)]
    future: asyncio.Future[list[str | None]] = asyncio.get_running_loop().create_future()
    outcome = RequestDeliveries(records, future)
    timed_out = KafkaError(KafkaError._MSG_TIMED_OUT)
    outcome.settle(2, "the producer queue stayed full")
    outcome.delivered(None, Message(value=b"value-0"))
    outcome.delivered(timed_out, Message(value=b"value-1"))
    outcome.delivered(timed_out, Message(value=b"value-1"))
    assert not future.done(), "one report is still missing"
    outcome.delivered(None, Message(value=b"value-0"))
    errors = await asyncio.wait_for(future, 1)
    assert errors == [None, "Kafka did not acknowledge in time", "the producer queue stayed full", None,
                      "Kafka did not acknowledge in time"]


async def test_an_empty_request_is_settled_at_once() -> None:
    future: asyncio.Future[list[str | None]] = asyncio.get_running_loop().create_future()
    RequestDeliveries([], future)
    assert future.result() == []
