"""The Redis side: find the windows sorted sets, read closed windows, delete exactly what was synced."""

from __future__ import annotations

from redis.asyncio import Redis

from contracts.redis_keys import RedisKeys, WindowKey, parse_window_key


async def scan_window_keys(client: Redis, keys: RedisKeys) -> list[WindowKey]:
    found: list[WindowKey] = []
    for pattern in keys.window_patterns():
        async for name in client.scan_iter(match=pattern, count=1000, _type="zset"):
            key = parse_window_key(name, keys)
            if key is not None:
                found.append(key)
    return sorted(found, key=lambda key: key.name)


async def read_closed(client: Redis, key: WindowKey, min_score: str, max_start_ms: int, limit: int) -> list[str]:
    """Up to `limit` members with min_score <= score <= max_start_ms, oldest first.

    Without WITHSCORES: parsing the scores doubles the reply and costs redis-py's pure-Python
    parser about as much as the rest of a batch (see docs/benchmarks/sync.md).
    """
    members: list[str] = await client.zrangebyscore(key.name, min_score, max_start_ms, start=0, num=limit)
    return members


async def member_score(client: Redis, key_name: str, member: str) -> int | None:
    score: float | None = await client.zscore(key_name, member)
    return None if score is None else int(score)


async def delete_members(client: Redis, key_name: str, members: list[str]) -> int:
    """ZREM of the exact member strings: a member Flink rewrote since the read differs and stays."""
    removed: int = await client.zrem(key_name, *members)
    return removed


async def oldest_closed_start_ms(client: Redis, key: WindowKey, max_start_ms: int) -> int | None:
    members = await read_closed(client, key, "-inf", max_start_ms, 1)
    return await member_score(client, key.name, members[0]) if members else None
