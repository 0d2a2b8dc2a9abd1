"""What the endpoints depend on, as typed `Annotated[..., Depends(...)]` aliases.

The stores and the relay live on `app.state`, opened and closed by the app's lifespan
(`api_service/resources.py`). The functions are async so that FastAPI calls them on the event loop
instead of in its thread pool. They take the connection, so WebSocket endpoints can use them too.
"""

from __future__ import annotations

from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends
from starlette.requests import HTTPConnection

from api_service.prometheus import ApiPrometheus
from api_service.relay import LiveRelay
from api_service.settings import Settings
from api_service.windows_store import HistoryStore, RealtimeStore


async def get_settings(connection: HTTPConnection) -> Settings:
    settings: Settings = connection.app.state.settings
    return settings


async def get_redis(connection: HTTPConnection) -> aioredis.Redis:
    """The process's Redis client (the realtime store's)."""
    store: RealtimeStore = connection.app.state.realtime
    return store.client


async def get_realtime(connection: HTTPConnection) -> RealtimeStore:
    """Window results in Redis."""
    store: RealtimeStore = connection.app.state.realtime
    return store


async def get_history(connection: HTTPConnection) -> HistoryStore | None:
    """Synced window results in PostgreSQL; None until PostgreSQL has answered once."""
    store: HistoryStore | None = connection.app.state.history
    return store


async def get_relay(connection: HTTPConnection) -> LiveRelay:
    relay: LiveRelay = connection.app.state.relay
    return relay


async def get_prometheus(connection: HTTPConnection) -> ApiPrometheus:
    prometheus: ApiPrometheus = connection.app.state.prometheus
    return prometheus


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[aioredis.Redis, Depends(get_redis)]
RealtimeDep = Annotated[RealtimeStore, Depends(get_realtime)]
HistoryDep = Annotated[HistoryStore | None, Depends(get_history)]
RelayDep = Annotated[LiveRelay, Depends(get_relay)]
PrometheusDep = Annotated[ApiPrometheus, Depends(get_prometheus)]
