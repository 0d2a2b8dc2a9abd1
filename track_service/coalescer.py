"""Coalescing concurrent single-event requests (POST /track) into one ingest call.

A request's event joins the group being gathered; the group is ingested once the event loop has run every
handler that was ready with it (`call_soon`: no added wait), so requests that arrive together share one
admission check, one claim in Redis, one `produce_batch` and one wait for Kafka's acks, and each is still
answered only after its own event was acknowledged. A group holds at most `max_events` events.
"""

from __future__ import annotations

import asyncio
from typing import Any

from track_service.ingest import Ingestor
from track_service.records import EventRecord

_Waiting = tuple[EventRecord, asyncio.Future[dict[str, Any]]]


class SingleEventCoalescer:
    def __init__(self, ingestor: Ingestor, max_events: int) -> None:
        self.ingestor = ingestor
        self.max_events = max_events
        self._gathering: list[_Waiting] = []
        self._running: set[asyncio.Task[None]] = set()  # held so they are not collected while running

    async def ingest(self, record: EventRecord) -> dict[str, Any]:
        """The result of one event (shaped like `ItemResult`), ingested with the others of its group."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._gathering.append((record, future))
        if len(self._gathering) == 1:
            loop.call_soon(self._flush)
        elif len(self._gathering) >= self.max_events:
            self._flush()
        # A client going away cancels only its own future: the group's task goes on (and skips it below).
        return await future

    def _flush(self) -> None:
        if not self._gathering:
            return  # already flushed as full
        group, self._gathering = self._gathering, []
        task = asyncio.get_running_loop().create_task(self._ingest(group))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _ingest(self, group: list[_Waiting]) -> None:
        try:
            results = await self.ingestor.ingest([record for record, _ in group], "track")
        except Exception as error:  # every request of the group gets the error (500), none waits forever
            for _, future in group:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), result in zip(group, results, strict=True):
            if not future.done():  # done: cancelled, its client went away
                future.set_result(result)
