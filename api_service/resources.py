"""What the insights API opens at start and closes at shutdown: Redis, the PostgreSQL pool, the live relay.

PostgreSQL is connected in the background, retried with capped backoff: the API serves Redis-backed
endpoints (and says 503 for history) while PostgreSQL is still coming up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import redis.asyncio as aioredis
from fastapi import FastAPI

from api_service.relay import LiveRelay
from api_service.settings import Settings
from api_service.windows_store import HistoryStore, RealtimeStore
from contracts.history import apply_migrations
from contracts.redis_keys import RedisKeys
from contracts.waiting import waiting_async

log = logging.getLogger(__name__)

PG_RETRY_MAX_S = 10.0


def redis_client(settings: Settings) -> aioredis.Redis:
    return aioredis.Redis(
        host=settings.redis_host,
        port=settings.redis_port,
        password=settings.redis_password or None,
        db=settings.redis_db,
        decode_responses=True,
        socket_connect_timeout=2.0,
        socket_keepalive=True,
    )


async def keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing. Requests only read with plain queries (no session settings, locks,
    cursors or LISTEN to undo), and asyncpg's default reset is one more round trip per request."""


async def connect_postgres(app: FastAPI, settings: Settings) -> None:
    """Open the pool and apply the history migrations, retrying with capped backoff until it works."""
    where = f"PostgreSQL at {settings.postgres_host}:{settings.postgres_port}"
    async for attempt in waiting_async(
        where, log, (TimeoutError, OSError, asyncpg.PostgresError), max_s=PG_RETRY_MAX_S, level=logging.WARNING
    ):
        with attempt:
            pool = await asyncpg.create_pool(
                settings.postgres_dsn,
                min_size=1,
                max_size=10,
                reset=keep_session,
                server_settings={"search_path": settings.postgres_schema},
            )
            try:
                async with pool.acquire() as conn:
                    await apply_migrations(conn, settings.postgres_schema)
            except BaseException:
                pool.terminate()  # a failed attempt leaves no connection behind
                raise
    app.state.history = HistoryStore(pool)
    log.info("PostgreSQL ready (schema %s)", settings.postgres_schema)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the stores and the relay on `app.state` (see `api_service/deps.py`), close them at shutdown."""
    settings: Settings = app.state.settings
    keys = RedisKeys(prefix=settings.redis_key_prefix)
    client = redis_client(settings)
    app.state.realtime = RealtimeStore(client, keys)
    app.state.history = None
    relay = LiveRelay(
        lambda: redis_client(settings),
        keys.updates_channel,
        settings.ws_client_queue_size,
        settings.redis_reconnect_max_s,
    )
    app.state.relay = relay
    relay.start()
    pg_task = asyncio.create_task(connect_postgres(app, settings))
    try:
        yield
    finally:
        pg_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pg_task
        await relay.stop()
        if app.state.history is not None:
            await app.state.history.pool.close()
        await client.aclose()
