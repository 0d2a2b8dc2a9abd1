"""Where window results live in Redis.

- `{prefix}:windows:{event_type}:{window_size}`: sorted set, member = canonical `WindowMetrics`
  JSON, score = window_start (ms). Exactly one member per window_start (writers upsert).
- `{prefix}:registry:event_types` / `{prefix}:registry:window_sizes`: sets of known names.
- `{prefix}:updates`: pub/sub channel carrying every window result as it is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from contracts.metrics import WindowMetrics


@dataclass(frozen=True)
class RedisKeys:
    prefix: str = "metrics"

    def windows(self, event_type: str, window_size: str) -> str:
        return f"{self.prefix}:windows:{event_type}:{window_size}"

    def windows_pattern(self) -> str:
        """SCAN pattern matching every windows sorted set under this prefix."""
        return f"{self.prefix}:windows:*"

    @property
    def event_types(self) -> str:
        return f"{self.prefix}:registry:event_types"

    @property
    def window_sizes(self) -> str:
        return f"{self.prefix}:registry:window_sizes"

    @property
    def updates_channel(self) -> str:
        return f"{self.prefix}:updates"


# Upsert one window atomically: drop any member with the same window_start, add the new one,
# register the names, refresh the TTL and publish. KEYS: zset, event_types, window_sizes.
# ARGV: window_start, member, event_type, window_size, ttl_s, channel.
UPSERT_WINDOW_LUA = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
if tonumber(ARGV[5]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[5])
end
redis.call('PUBLISH', ARGV[6], ARGV[2])
return 1
"""


def upsert_window_call(keys: RedisKeys, window: WindowMetrics, ttl_s: int) -> tuple[list[str], list[str | int]]:
    """KEYS and ARGV of UPSERT_WINDOW_LUA for one window."""
    return (
        [keys.windows(window.event_type, window.window_size), keys.event_types, keys.window_sizes],
        [window.window_start, window.to_json(), window.event_type, window.window_size, ttl_s, keys.updates_channel],
    )


def upsert_windows(client: Any, keys: RedisKeys, windows: Iterable[WindowMetrics], ttl_s: int = 0) -> None:
    """Write windows exactly as the Flink job does, pipelined (a sync redis-py client)."""
    script = client.register_script(UPSERT_WINDOW_LUA)
    pipe = client.pipeline(transaction=False)
    for window in windows:
        script_keys, args = upsert_window_call(keys, window, ttl_s)
        script(keys=script_keys, args=args, client=pipe)
    pipe.execute()
