"""Readiness and freshness: 200 when Redis and PostgreSQL answer (`degraded` when events arrive but windows
stop following, see `api_service/freshness.py`), 503 when a store does not answer."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from redis.exceptions import RedisError

from api_service.deps import HistoryDep, RealtimeDep, RelayDep, SettingsDep
from api_service.freshness import Freshness, read_freshness
from api_service.windows_store import HistoryStore, RealtimeStore
from contracts.events import now_ms

HEALTH_TIMEOUT_S = 2.0

router = APIRouter(tags=["ops"])


class FreshnessModel(BaseModel):
    last_window_written_s_ago: float | None
    watermark_lag_s: float | None
    last_event_s_ago: float | None
    max_age_s: float


class HealthModel(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "status": "ok", "redis": True, "postgres": True, "live_relay": "subscribed", "live_clients": 2,
        "dropped_clients": 0, "problems": [], "freshness": {"last_window_written_s_ago": 4.1,
                                                            "watermark_lag_s": 11.9, "last_event_s_ago": 0.8,
                                                            "max_age_s": 60.0}}]})
    status: str
    redis: bool
    postgres: bool
    live_relay: str
    live_clients: int
    dropped_clients: int
    problems: list[str]
    freshness: FreshnessModel | None


HEALTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": HealthModel, "description": "Both stores answer; `status` is `ok` or `degraded`"},
    503: {"model": HealthModel, "description": "Redis or PostgreSQL does not answer (`status`: `unavailable`)"},
}


@router.get("/health", summary="Ready when Redis and PostgreSQL answer; fresh when windows follow events",
            responses=HEALTH_RESPONSES)
async def health(
    realtime: RealtimeDep, history: HistoryDep, relay: RelayDep, settings: SettingsDep
) -> JSONResponse:
    """200 when both stores answer, 503 otherwise. `status` is `degraded` (still 200) when events arrive but
    no window was written, or the newest window ended, more than API_FRESHNESS_MAX_S ago; `problems` says
    which. `freshness` gives the figures (seconds; null when unknown)."""
    redis_ok, postgres_ok, freshness = await asyncio.gather(
        redis_answers(realtime.client), postgres_answers(history), freshness_if_known(realtime)
    )
    problems = [] if freshness is None else freshness.problems(settings.api_freshness_max_s)
    status = "unavailable" if not (redis_ok and postgres_ok) else "degraded" if problems else "ok"
    body = {
        "status": status,
        "redis": redis_ok,
        "postgres": postgres_ok,
        "live_relay": "subscribed" if relay.subscribed.is_set() else "reconnecting",
        "live_clients": len(relay.clients),
        "dropped_clients": relay.dropped_total,
        "problems": problems,
        "freshness": None if freshness is None else freshness.report(settings.api_freshness_max_s),
    }
    return JSONResponse(status_code=200 if redis_ok and postgres_ok else 503, content=body)


async def freshness_if_known(realtime: RealtimeStore) -> Freshness | None:
    try:
        return await asyncio.wait_for(read_freshness(realtime.client, realtime.keys, now_ms()), HEALTH_TIMEOUT_S)
    except (TimeoutError, RedisError, OSError):
        return None


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
