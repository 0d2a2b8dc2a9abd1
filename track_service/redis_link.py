"""track_service's Redis: one client for the event-type limit and the shared event_id memory, and how a
part that uses it behaves while Redis does not answer.

Both parts keep ingesting when Redis is down (Kafka is the durable buffer; see docs/track_service.md): they
skip their check, count it, warn at most every WARN_EVERY_S and leave Redis alone for a while before the next
try, so a dead Redis costs the hot path nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis.asyncio as aioredis

from track_service.settings import Settings

log = logging.getLogger("track_service")

# Short: a check that cannot be made in time is skipped rather than holding the request.
REDIS_TIMEOUT_S = 0.5
WARN_EVERY_S = 30.0


def redis_client(settings: Settings) -> aioredis.Redis | None:
    """The Redis client of the event-type limit and the shared dedup; None when neither is on."""
    if settings.track_max_event_types == 0 and settings.track_dedup_horizon_s == 0:
        return None
    return aioredis.Redis(
        host=settings.redis_host, port=settings.redis_port, password=settings.redis_password or None,
        db=settings.redis_db, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S,
    )


class RedisOutage:
    """Whether a part should ask Redis now; remembers a failure for `retry_after_s` and warns, rate-limited."""

    def __init__(self, what: str, consequence: str, retry_after_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what = what
        self.consequence = consequence
        self.retry_after_s = retry_after_s
        self._clock = clock
        self._down_until = 0.0
        self._warned_at = -WARN_EVERY_S
        self.answers = True
        self.last_error = ""

    def skip(self) -> bool:
        """True while a recent failure says not to ask Redis yet."""
        return self._clock() < self._down_until

    def answered(self) -> None:
        self.answers = True

    def failed(self, error: Exception) -> None:
        now = self._clock()
        self.answers = False
        self.last_error = str(error) or type(error).__name__
        self._down_until = now + self.retry_after_s
        if now - self._warned_at >= WARN_EVERY_S:
            self._warned_at = now
            log.warning("Redis did not answer %s (%s): %s, trying again in %.0f s",
                        self.what, self.last_error, self.consequence, self.retry_after_s)
