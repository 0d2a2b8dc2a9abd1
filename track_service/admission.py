"""The cardinality guard: at most TRACK_MAX_EVENT_TYPES live event types, shared by every replica via Redis.

A type is live while events of it are accepted; one with no accepted event for EVENT_TYPE_QUIET_S is pruned
and frees its slot. Admission is one Lua script (`ADMIT_LUA`), atomic in Redis, so replicas admitting at
the same time never exceed the limit between them. Each process caches verdicts: an admitted type is not
asked about again for TRACK_ADMISSION_CACHE_S (asking again also refreshes its last-seen time), a refused one
for REFUSED_CACHE_S, so the hot path calls Redis only for types it has not decided lately.

Redis down: events are admitted unchecked, because ingestion must not depend on Redis (Kafka is the durable
buffer and the events are counted once Redis is back). Each skipped check is counted
(`track_admission_unchecked`), a warning is logged at most every 30 s, and Redis is left alone for
TRACK_ADMISSION_CACHE_S before the next try (`track_service/redis_link.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from contracts.events import now_ms
from contracts.redis_keys import RedisKeys
from track_service.prometheus import TrackPrometheus
from track_service.redis_link import RedisOutage

REFUSED_CACHE_S = 1.0
# KEYS[1]: sorted set event type -> last accepted (ms). ARGV: now_ms, quiet_ms, limit, the types to admit.
# Returns the number of live types, then 1 (admitted, last-seen refreshed) or 0 (refused) per type.
ADMIT_LUA = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (tonumber(ARGV[1]) - tonumber(ARGV[2])))
local live = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[3])
local verdicts = {0}
for i = 4, #ARGV do
  local known = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if known or live < limit then
    if not known then live = live + 1 end
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i])
    verdicts[#verdicts + 1] = 1
  else
    verdicts[#verdicts + 1] = 0
  end
end
verdicts[1] = live
return verdicts
"""


class EventTypeAdmission:
    def __init__(
        self, client: aioredis.Redis, keys: RedisKeys, limit: int, quiet_s: int, cache_s: float,
        prometheus: TrackPrometheus, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.keys = keys
        self.limit = limit
        self.quiet_s = quiet_s
        self.cache_s = cache_s
        self.prometheus = prometheus
        self._clock = clock
        self._script = client.register_script(ADMIT_LUA)
        self._admitted: dict[str, float] = {}  # event type -> until when it is admitted without asking
        self._refused: dict[str, float] = {}  # event type -> until when it is refused without asking
        self.outage = RedisOutage("the event-type admission check", "admitting events unchecked", cache_s, clock)

    async def refused(self, event_types: Collection[str]) -> frozenset[str]:
        """Those of `event_types` over the limit of live types (asking Redis only about undecided ones)."""
        now = self._clock()
        admitted = self._admitted
        undecided = [name for name in event_types if admitted.get(name, 0.0) <= now]
        if not undecided:
            return frozenset()
        refused = {name for name in undecided if self._refused.get(name, 0.0) > now}
        to_ask = [name for name in undecided if name not in refused]
        if to_ask:
            refused.update(await self._ask(to_ask, now))
        return frozenset(refused)

    async def _ask(self, event_types: list[str], now: float) -> set[str]:
        if self.outage.skip():
            self.prometheus.admission_unchecked.inc(len(event_types))
            return set()
        try:
            reply: list[Any] = await self._script(
                keys=[self.keys.admitted_event_types],
                args=[now_ms(), self.quiet_s * 1000, self.limit, *event_types],
            )
        except (RedisError, OSError) as error:
            self.outage.failed(error)
            self.prometheus.admission_unchecked.inc(len(event_types))
            return set()
        self.outage.answered()
        self.prometheus.live_event_types.set(int(reply[0]))
        self._forget_expired(now)
        refused = set()
        for name, verdict in zip(event_types, reply[1:], strict=True):
            if verdict:
                self._admitted[name] = now + self.cache_s
            else:
                self._refused[name] = now + REFUSED_CACHE_S
                refused.add(name)
        return refused

    def _forget_expired(self, now: float) -> None:
        """Keep both caches bounded: past a size, entries no longer in force are dropped."""
        for cache in (self._admitted, self._refused):
            if len(cache) > 2 * self.limit + 1000:
                for name in [name for name, until in cache.items() if until <= now]:
                    del cache[name]

    def rejection_message(self, event_type: str) -> str:
        return (f"{event_type!r} would exceed the limit of {self.limit} live event types (TRACK_MAX_EVENT_TYPES); "
                f"a type frees its slot after {self.quiet_s} s without events (EVENT_TYPE_QUIET_S)")
