"""The insights API: HTTP endpoints over Redis and PostgreSQL, the /live-metrics WebSocket and the dashboard."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from fastapi import FastAPI, Request, WebSocket
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict
from redis.exceptions import RedisError
from starlette.websockets import WebSocketState

from api_service.params import (
    DEFAULT_LIMIT,
    EventType,
    Limit,
    Timestamp,
    WindowSize,
    as_utc,
    live_filter_problem,
    query_error,
)
from api_service.relay import LiveClient, LiveRelay
from api_service.settings import Settings
from api_service.windows_store import (
    FAR_FUTURE_MS,
    FAR_PAST_MS,
    HistoryStore,
    RealtimeStore,
    merge_newest_first,
    to_ms,
)
from contracts.events import now_ms
from contracts.history import apply_migrations
from contracts.metrics import metrics_response
from contracts.redis_keys import RedisKeys
from contracts.waiting import waiting_async

log = logging.getLogger(__name__)

PG_RETRY_MAX_S = 10.0
HEALTH_TIMEOUT_S = 2.0
CLOSE_TIMEOUT_S = 1.0
# WebSocket close codes (RFC 6455 section 7.4.1): policy violation for bad filters, "try again later" when dropped.
WS_BAD_FILTER = 1008
WS_TOO_SLOW = 1013

ENTRY_EXAMPLE: dict[str, Any] = {
    "window_start": 1719392400000,
    "count": 142,
    "total_value": 8563.21,
    "unique_users": 23,
}


class MetricsEntryModel(BaseModel):
    window_start: int
    count: int
    total_value: float
    unique_users: int


class MetricsResponseModel(BaseModel):
    """The seed's response body (built by `contracts.metrics.metrics_response`)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"event_type": "click", "window_size": "30s", "entries": [ENTRY_EXAMPLE]}]}
    )
    event_type: str
    window_size: str
    entries: list[MetricsEntryModel]


METRICS_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"model": MetricsResponseModel}}
UNAVAILABLE = {"detail": "PostgreSQL is not reachable yet; see GET /health"}


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


def create_app(settings: Settings) -> FastAPI:
    keys = RedisKeys(prefix=settings.redis_key_prefix)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
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

    app = FastAPI(
        title="Real-time analytics insights API",
        version="0.1.0",
        description=(
            "Sliding-window metrics per event type: the newest windows from Redis, history from PostgreSQL, "
            "and live window updates over the `/live-metrics` WebSocket. The dashboard is at `/static/index.html`."
        ),
        lifespan=lifespan,
    )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        details = jsonable_encoder(error.errors())
        message = "; ".join(f"{item['loc'][-1]}: {item['msg']}" for item in details)
        return JSONResponse(status_code=422, content={"message": f"invalid parameter {message}", "detail": details})

    @app.exception_handler(RedisError)
    async def redis_down(request: Request, error: RedisError) -> JSONResponse:
        log.warning("Redis error serving %s: %s", request.url.path, error)
        return JSONResponse(status_code=503, content={"detail": "Redis is not reachable; see GET /health"})

    def realtime(request: Request) -> RealtimeStore:
        store: RealtimeStore = request.app.state.realtime
        return store

    async def newest(request: Request, event_type: str, window_size: str, limit: int) -> JSONResponse:
        windows = await realtime(request).newest(event_type, window_size, limit)
        return JSONResponse(metrics_response(event_type, window_size, windows))

    @app.get("/metrics", tags=["metrics"], responses=METRICS_RESPONSES, summary="Newest windows (seed phase 3)")
    async def get_metrics(
        request: Request, event_type: EventType, window_size: WindowSize = "30s", limit: Limit = DEFAULT_LIMIT
    ) -> JSONResponse:
        """Newest windows first, from Redis. Same as `/metrics/realtime`."""
        return await newest(request, event_type, window_size, limit)

    @app.get("/metrics/realtime", tags=["metrics"], responses=METRICS_RESPONSES, summary="Newest windows from Redis")
    async def get_realtime(
        request: Request, event_type: EventType, window_size: WindowSize = "30s", limit: Limit = DEFAULT_LIMIT
    ) -> JSONResponse:
        """Newest windows first, from Redis, including windows still open (their latest partial value)."""
        return await newest(request, event_type, window_size, limit)

    @app.get("/metrics/history", tags=["metrics"], responses=METRICS_RESPONSES, summary="Windows in a time range")
    async def get_history(
        request: Request,
        event_type: EventType,
        window_size: WindowSize = "30s",
        start_time: Timestamp = None,
        end_time: Timestamp = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> JSONResponse:
        """Windows with `start_time <= window_start < end_time`, newest first: PostgreSQL, plus windows that
        have closed but are not synced yet, from Redis (Redis wins for the same `window_start`)."""
        start_ms = to_ms(as_utc(start_time), FAR_PAST_MS)
        end_ms = to_ms(as_utc(end_time), FAR_FUTURE_MS)
        if end_ms <= start_ms:
            raise query_error("end_time", "end_time must be later than start_time", str(end_time))
        history: HistoryStore | None = request.app.state.history
        if history is None:
            return JSONResponse(status_code=503, content=UNAVAILABLE)
        stored, unsynced = await asyncio.gather(
            history.between(event_type, window_size, start_ms, end_ms, limit),
            realtime(request).closed_between(event_type, window_size, start_ms, end_ms, now_ms(), limit),
        )
        windows = merge_newest_first(stored, unsynced, limit)
        return JSONResponse(metrics_response(event_type, window_size, windows))

    @app.get("/metrics/event-types", tags=["registry"], summary="Known event types")
    async def get_event_types(request: Request) -> dict[str, list[str]]:
        """Every event type a window was written for, sorted.

        Example: `{"event_types": ["click", "purchase"]}`"""
        return {"event_types": await realtime(request).event_types()}

    @app.get("/metrics/window-sizes", tags=["registry"], summary="Known window sizes")
    async def get_window_sizes(request: Request) -> dict[str, list[str]]:
        """Every window size a window was written for, shortest first.

        Example: `{"window_sizes": ["30s", "5m"]}`"""
        return {"window_sizes": await realtime(request).window_sizes()}

    @app.get("/health", tags=["ops"], summary="Ready when Redis and PostgreSQL answer")
    async def health(request: Request) -> JSONResponse:
        """200 when both stores answer, 503 otherwise; also reports the live relay.

        Example: `{"status": "ok", "redis": true, "postgres": true, "live_relay": "subscribed",
        "live_clients": 2, "dropped_clients": 0}`"""
        redis_ok, postgres_ok = await asyncio.gather(redis_answers(request), postgres_answers(request))
        relay: LiveRelay = request.app.state.relay
        body = {
            "status": "ok" if redis_ok and postgres_ok else "unavailable",
            "redis": redis_ok,
            "postgres": postgres_ok,
            "live_relay": "subscribed" if relay.subscribed.is_set() else "reconnecting",
            "live_clients": len(relay.clients),
            "dropped_clients": relay.dropped_total,
        }
        return JSONResponse(status_code=200 if redis_ok and postgres_ok else 503, content=body)

    @app.websocket("/live-metrics")
    async def live_metrics(websocket: WebSocket, event_type: str | None = None, window_size: str | None = None) -> None:
        """Latest window per (event type, window size) on connect, then every update, in the seed's format."""
        await websocket.accept()
        problem = live_filter_problem(event_type, window_size)
        if problem is not None:
            await websocket.close(code=WS_BAD_FILTER, reason=problem)
            return
        relay: LiveRelay = websocket.app.state.relay
        client = relay.register(event_type, window_size)
        try:
            await serve_live_client(websocket, client, realtime_store=websocket.app.state.realtime)
        finally:
            relay.unregister(client)

    mount_dashboard(app, settings)
    return app


async def redis_answers(request: Request) -> bool:
    store: RealtimeStore = request.app.state.realtime
    try:
        return bool(await asyncio.wait_for(store.client.ping(), HEALTH_TIMEOUT_S))
    except (TimeoutError, RedisError, OSError):
        return False


async def postgres_answers(request: Request) -> bool:
    history: HistoryStore | None = request.app.state.history
    if history is None:
        return False
    try:
        return bool(await asyncio.wait_for(history.pool.fetchval("SELECT 1"), HEALTH_TIMEOUT_S) == 1)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False


async def serve_live_client(websocket: WebSocket, client: LiveClient, realtime_store: RealtimeStore) -> None:
    """Send the snapshot then the client's queue, until it leaves or the relay drops it."""

    async def send_updates() -> None:
        try:
            snapshot = await realtime_store.latest_per_series(client.event_type, client.window_size)
        except RedisError as error:
            log.warning("no snapshot for a live client, Redis error: %s", error)
            snapshot = []
        for window in snapshot:
            await websocket.send_text(window.to_json())
        while True:
            await websocket.send_text(await client.queue.get())

    async def until_disconnect() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass  # messages from the client are not part of the protocol; ignore them

    tasks = [
        asyncio.create_task(send_updates()),
        asyncio.create_task(until_disconnect()),
        asyncio.create_task(client.dropped.wait()),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if client.dropped.is_set() and websocket.client_state == WebSocketState.CONNECTED:
        # A stalled client may never read our close frame either: don't wait on it for long.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                websocket.close(code=WS_TOO_SLOW, reason="too slow: fell behind the live stream"), CLOSE_TIMEOUT_S
            )


def mount_dashboard(app: FastAPI, settings: Settings) -> None:
    """The built dashboard at /static/ and a redirect from /; a clear 503 if it was never built."""

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/static/index.html")

    if (settings.dashboard_dir / "index.html").is_file():
        app.mount("/static", StaticFiles(directory=settings.dashboard_dir, html=True), name="static")
        return
    log.warning("no dashboard build in %s: run `make setup` (npm run build in dashboard/)", settings.dashboard_dir)

    @app.get("/static/{path:path}", include_in_schema=False)
    async def not_built(path: str) -> JSONResponse:
        return JSONResponse(
            status_code=503,
            content={"detail": f"dashboard not built in {settings.dashboard_dir}: run `make setup`"},
        )
