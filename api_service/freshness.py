"""Is the pipeline still producing windows? Read from what the writers leave in Redis, never guessed.

- `last_write_ms` in `{prefix}:writer`: when the Flink job last wrote a window (wall clock);
- the newest `window_end` in the live registry: how far the watermark has come at least (a window is
  written once the watermark passes its end, so `now - newest end` bounds the watermark lag from above,
  within one slide);
- the newest score of track_service's admission registry: when an event was last accepted (to within
  TRACK_ADMISSION_CACHE_S; unknown when the limit is off).

Degraded means: events are arriving (one accepted within API_FRESHNESS_MAX_S) but no window was written, or
the newest window ended, more than API_FRESHNESS_MAX_S ago. With no events arriving, old windows are
expected and nothing is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from contracts.redis_keys import RedisKeys


@dataclass(frozen=True)
class Freshness:
    now_ms: int
    last_write_ms: int | None
    newest_window_end_ms: int | None
    last_event_ms: int | None

    def _age_s(self, then_ms: int | None) -> float | None:
        return None if then_ms is None else max(0.0, (self.now_ms - then_ms) / 1000)

    @property
    def last_window_written_s_ago(self) -> float | None:
        return self._age_s(self.last_write_ms)

    @property
    def watermark_lag_s(self) -> float | None:
        return self._age_s(self.newest_window_end_ms)

    @property
    def last_event_s_ago(self) -> float | None:
        return self._age_s(self.last_event_ms)

    def problems(self, max_age_s: float) -> list[str]:
        """Why the pipeline looks stuck: empty unless events arrive and windows do not follow."""
        event_age = self.last_event_s_ago
        if event_age is None or event_age > max_age_s:
            return []
        problems = []
        written = self.last_window_written_s_ago
        if written is None or written > max_age_s:
            since = "ever" if written is None else f"{written:.0f} s"
            problems.append(f"events arrive but no window was written for {since} (limit {max_age_s:.0f} s): "
                            "is the Flink job running?")
        lag = self.watermark_lag_s
        if lag is not None and lag > max_age_s:
            problems.append(f"the newest window ended {lag:.0f} s ago (limit {max_age_s:.0f} s): the watermark "
                            "lags; are heartbeats and every partition flowing?")
        return problems

    def report(self, max_age_s: float) -> dict[str, Any]:
        """The `freshness` part of /health."""
        return {
            "last_window_written_s_ago": _rounded(self.last_window_written_s_ago),
            "watermark_lag_s": _rounded(self.watermark_lag_s),
            "last_event_s_ago": _rounded(self.last_event_s_ago),
            "max_age_s": max_age_s,
        }


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def _score(reply: list[tuple[str, float]]) -> int | None:
    return int(reply[0][1]) if reply else None


async def read_freshness(client: aioredis.Redis, keys: RedisKeys, now_ms: int) -> Freshness:
    """One round trip: the writer's last write, the newest window end, the last accepted event."""
    async with client.pipeline(transaction=False) as pipe:
        pipe.hget(keys.writer_status, "last_write_ms")
        pipe.zrevrange(keys.event_types, 0, 0, withscores=True)
        pipe.zrevrange(keys.admitted_event_types, 0, 0, withscores=True)
        last_write, newest_end, last_event = await pipe.execute()
    return Freshness(now_ms, int(last_write) if last_write else None, _score(newest_end), _score(last_event))
