"""Readiness: 200 when Redis and PostgreSQL answer, with the live relay's state."""

from __future__ import annotations

import asyncio

import asyncpg
import redis.asyncio as aioredis
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from api_service.deps import HistoryDep, RedisDep, RelayDep
from api_service.windows_store import HistoryStore

HEALTH_TIMEOUT_S = 2.0

router = APIRouter(tags=["ops"])


@router.get("/health", summary="Ready when Redis and PostgreSQL answer")
async def health(redis_client: RedisDep, history: HistoryDep, relay: RelayDep) -> JSONResponse:
    """200 when both stores answer, 503 otherwise; also reports the live relay.

    Example: `{"status": "ok", "redis": true, "postgres": true, "live_relay": "subscribed",
    "live_clients": 2, "dropped_clients": 0}`"""
    redis_ok, postgres_ok = await asyncio.gather(redis_answers(redis_client), postgres_answers(history))
    body = {
        "status": "ok" if redis_ok and postgres_ok else "unavailable",
        "redis": redis_ok,
        "postgres": postgres_ok,
        "live_relay": "subscribed" if relay.subscribed.is_set() else "reconnecting",
        "live_clients": len(relay.clients),
        "dropped_clients": relay.dropped_total,
    }
    return JSONResponse(status_code=200 if redis_ok and postgres_ok else 503, content=body)


async def redis_answers(client: aioredis.Redis) -> bool:
    try:
        return bool(await asyncio.wait_for(client.ping(), HEALTH_TIMEOUT_S))
    except (TimeoutError, RedisError, OSError):
        return False


async def postgres_answers(history: HistoryStore | None) -> bool:
    if history is None:
        return False
    try:
        return bool(await asyncio.wait_for(history.pool.fetchval("SELECT 1"), HEALTH_TIMEOUT_S) == 1)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
