"""Remembering recently published event_ids so a client's retry is acknowledged, not republished.

Limit: the memory is per process and lost on restart. With several replicas, or across a restart,
a retry can publish an event twice; consumers must still tolerate duplicates by event_id (see
docs/track_service.md). Within one process it is exact, including concurrent retries of an event
still awaiting Kafka's ack: they wait for the first attempt and share its outcome.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable


class RecentEventIds:
    def __init__(self, horizon_s: float, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.horizon_s = horizon_s
        self.max_entries = max_entries
        self._clock = clock
        # event_id -> (claimed at, outcome: True published / False failed); oldest first.
        self._entries: OrderedDict[str, tuple[float, asyncio.Future[bool]]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.horizon_s > 0 and self.max_entries > 0

    def __len__(self) -> int:
        return len(self._entries)

    def claim(self, event_id: str) -> asyncio.Future[bool] | None:
        """None when this caller must publish (then call `settle`); else the earlier attempt's outcome."""
        if not self.enabled:
            return None
        self._expire()
        entry = self._entries.get(event_id)
        if entry is not None:
            return entry[1]
        self._entries[event_id] = (self._clock(), asyncio.get_running_loop().create_future())
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return None

    def settle(self, event_id: str, published: bool) -> None:
        entry = self._entries.get(event_id)
        if entry is None:
            return
        if not entry[1].done():
            entry[1].set_result(published)
        if not published:
            # A failed attempt must not swallow the client's retry.
            del self._entries[event_id]

    def _expire(self) -> None:
        cutoff = self._clock() - self.horizon_s
        while self._entries:
            claimed_at, outcome = next(iter(self._entries.values()))
            if claimed_at > cutoff or not outcome.done():
                return
            self._entries.popitem(last=False)
