"""The memory of client event_ids shared by every process and replica, in Redis (issue 18).

Two kinds of keys (contracts/redis_keys.py):
- one per event_id, `{prefix}:dedup:{event_id}`: the attempt that claimed it, `p:{process}:{n}`, kept for
  TRACK_DEDUP_HORIZON_S;
- one per attempt (one request's publication), `{prefix}:dedup-attempt:{attempt}`: `p` while it publishes
  (expires after `pending_s`, longer than a publication can take, so the claims of a process that died free
  themselves), `d` once Kafka acknowledged its events (kept for TRACK_DEDUP_HORIZON_S).
So an id costs Redis one `SET` (its claim); marking a request's events published is one `SET` for all of them.

A request claims all its client event_ids in one round trip (`CLAIM_LUA`: `SET NX GET` per id, the ids passed
as one JSON argument: as separate arguments they cost the event loop four times as much to send). Marking an
attempt `d` is off the answer's path: one background call marks every attempt acknowledged meanwhile. Failed
ids are released (deleted where the attempt still holds them) before the 503, so the retry publishes.

An id another attempt holds: published (its attempt is `d`) is answered as a duplicate at once; a pending one
is polled until its attempt is `d` (a duplicate) or gone (that attempt failed or died, so this one fails too:
concurrent retries share the outcome, as they do within a process), at most `pending_s`. An id whose attempt is
gone (a process died while publishing) is taken over by the next claim.

Redis does not answer: the ids are published without the shared check (the in-process memory still
applies), counted in `track_dedup_unshared_total`; a retry landing on another replica meanwhile can publish a
second copy. Ingestion does not stop for Redis (docs/track_service.md, "Retries and duplicates").
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from contracts.redis_keys import RedisKeys
from track_service.prometheus import TrackPrometheus
from track_service.redis_link import RedisOutage

log = logging.getLogger(__name__)

PUBLISHED = b"d"
_PUBLISHED, _PENDING = 1, 2  # STATE_LUA's answers (0: gone)
REDIS_RETRY_S = 2.0
# How often a pending id held by another attempt is read again: first quickly, then at most every 50 ms.
POLL_S = (0.002, 0.005, 0.01, 0.02, 0.05)

# ARGV: id key head, attempt key head, the claim's value (its attempt), how long a claim pends (ms), the
# horizon (ms), the event_ids as a JSON array. Returns {position, value, ...} for the ids some attempt holds
# (positions from 0; value `d` when that attempt published them); the rest are claimed, taken over where the
# attempt holding them is gone.
CLAIM_LUA = """
local ids = cjson.decode(ARGV[6])
redis.call('SET', ARGV[2] .. ARGV[3], 'p', 'PX', ARGV[4])
local held = {}
for i = 1, #ids do
  local key = ARGV[1] .. ids[i]
  local old = redis.call('SET', key, ARGV[3], 'NX', 'GET', 'PX', ARGV[5])
  if old then
    local state = old == 'd' and 'd' or redis.call('GET', ARGV[2] .. old)  -- `d`: an id marked before attempt keys
    if state then
      held[#held + 1] = i - 1
      held[#held + 1] = state == 'd' and 'd' or old
    else
      redis.call('SET', key, ARGV[3], 'PX', ARGV[5])
    end
  end
end
return held
"""
# ARGV: attempt key head, how long a published attempt is remembered (ms), then the attempts.
MARK_PUBLISHED_LUA = """
for a = 3, #ARGV do
  redis.call('SET', ARGV[1] .. ARGV[a], 'd', 'PX', ARGV[2])
end
return #ARGV - 2
"""
# ARGV: id key head, the claim's value, the event_ids as a JSON array: each deleted if that claim still holds it.
RELEASE_LUA = """
local ids = cjson.decode(ARGV[3])
local released = 0
for i = 1, #ids do
  local key = ARGV[1] .. ids[i]
  if redis.call('GET', key) == ARGV[2] then
    redis.call('DEL', key)
    released = released + 1
  end
end
return released
"""
# ARGV: id key head, attempt key head, then event_ids. Per id: 1 published, 0 gone (its attempt failed or died,
# or the id was released), 2 still pending.
STATE_LUA = """
local states = {}
for i = 3, #ARGV do
  local holder = redis.call('GET', ARGV[1] .. ARGV[i])
  local state = holder == 'd' and 'd' or (holder and redis.call('GET', ARGV[2] .. holder))
  states[#states + 1] = (state == 'd' and 1) or (state and 2) or 0
end
return states
"""
_encode = msgspec.json.Encoder().encode


@dataclass(slots=True)
class SharedClaim:
    """One attempt's claim of its client event_ids."""

    value: str  # what its keys hold until settled
    size: int  # how many ids it asked for
    checked: bool = False  # False: Redis did not answer, nothing was claimed
    held: dict[int, bytes] = field(default_factory=dict)  # position -> the value of an id another attempt holds


class SharedEventIds:
    def __init__(
        self, client: aioredis.Redis, keys: RedisKeys, horizon_s: float, pending_s: float,
        prometheus: TrackPrometheus,
    ) -> None:
        self.client = client
        self.head = keys.dedup_head
        self.attempt_head = keys.dedup_attempt_head
        self.horizon_ms = int(horizon_s * 1000)
        self.pending_s = pending_s
        self.prometheus = prometheus
        self.outage = RedisOutage(
            "the shared event_id check", "publishing without it (a retry on another replica may publish twice)",
            REDIS_RETRY_S,
        )
        self._claim = client.register_script(CLAIM_LUA)
        self._mark = client.register_script(MARK_PUBLISHED_LUA)
        self._release = client.register_script(RELEASE_LUA)
        self._state = client.register_script(STATE_LUA)
        self._process = uuid.uuid4().hex[:12]
        self._attempts = itertools.count()
        self._to_mark: list[tuple[str, int]] = []  # acknowledged attempts, with how many ids each claimed
        self._marker: asyncio.Task[None] | None = None

    async def claim(self, event_ids: Sequence[str]) -> SharedClaim:
        """Claim `event_ids` for one attempt (one round trip); `held` names those another attempt holds."""
        claim = SharedClaim(f"p:{self._process}:{next(self._attempts)}", len(event_ids))
        if self.outage.skip():
            self.prometheus.dedup_unshared.inc(len(event_ids))
            return claim
        try:
            reply: list[int | bytes] = await self._claim(
                args=[self.head, self.attempt_head, claim.value, int(self.pending_s * 1000), self.horizon_ms,
                      _encode(event_ids)])
        except (RedisError, OSError) as error:
            self.outage.failed(error)
            self.prometheus.dedup_unshared.inc(len(event_ids))
            return claim
        self.outage.answered()
        claim.checked = True
        claim.held = dict(zip(reply[::2], reply[1::2], strict=True))  # type: ignore[arg-type]
        return claim

    async def published_elsewhere(self, event_ids: Sequence[str]) -> list[bool]:
        """Per id held by another attempt: True once it is published; False when that attempt failed or died (its
        claim or its attempt is gone), or it stays pending past `pending_s`, or Redis stops answering."""
        outcome: dict[str, bool] = {}
        waiting = list(dict.fromkeys(event_ids))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.pending_s
        for pause in itertools.chain(POLL_S, itertools.repeat(POLL_S[-1])):
            try:
                states: list[int] = await self._state(args=[self.head, self.attempt_head, *waiting])
            except (RedisError, OSError) as error:
                self.outage.failed(error)
                break
            still = []
            for event_id, state in zip(waiting, states, strict=True):
                if state == _PENDING:
                    still.append(event_id)
                else:
                    outcome[event_id] = state == _PUBLISHED
            waiting = still
            if not waiting or loop.time() + pause > deadline:
                break
            await asyncio.sleep(pause)
        return [outcome.get(event_id, False) for event_id in event_ids]

    async def settle(self, claim: SharedClaim, published: list[str] | None, failed: list[str]) -> None:
        """Release the failed ids now (so their retries publish); mark the attempt published in the background
        when some of its ids were (None: every id the claim got, the common case)."""
        if not claim.checked:
            return
        if failed:
            try:
                await self._release(args=[self.head, claim.value, _encode(failed)])
            except (RedisError, OSError) as error:  # their attempt expires after pending_s instead
                self.outage.failed(error)
        if published is None:
            assert not claim.held, "those ids are another attempt's"
            self._to_mark.append((claim.value, claim.size))
        elif published:
            self._to_mark.append((claim.value, len(published)))
        else:
            return
        if self._marker is None or self._marker.done():
            self._marker = asyncio.get_running_loop().create_task(self._mark_published())

    async def _mark_published(self) -> None:
        """Mark every attempt acknowledged since the last call, one call at a time, until none are left."""
        while self._to_mark:
            attempts, self._to_mark = self._to_mark, []
            try:
                await self._mark(args=[self.attempt_head, self.horizon_ms, *[value for value, _ in attempts]])
            except (RedisError, OSError) as error:
                # Their attempts expire after pending_s: a retry after that may publish a second copy.
                self.outage.failed(error)
                self.prometheus.dedup_unshared.inc(sum(count for _, count in attempts))

    async def close(self) -> None:
        """Write the ids still to be marked (at shutdown)."""
        if self._marker is not None:
            await self._marker
