"""The ingestion service app: routers per resource (`track_service/routes/`), dependencies and the
write-key check in `track_service/deps.py`, the ingestion pipeline in `track_service/ingest.py`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from contracts.docs_pages import add_offline_docs
from contracts.events_topic import ensure_topic
from contracts.redis_keys import RedisKeys
from track_service.admission import EventTypeAdmission
from track_service.coalescer import SingleEventCoalescer
from track_service.dedup import RecentEventIds
from track_service.ingest import Ingestor
from track_service.prometheus import TrackPrometheus
from track_service.publisher import EventPublisher
from track_service.redis_link import redis_client
from track_service.routes import health, prometheus, track
from track_service.settings import Settings
from track_service.shared_dedup import SharedEventIds
from track_service.single_route import SingleEventRoute
from track_service.validation import RequestRejected

log = logging.getLogger("track_service")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the producer (creating the topic first if asked), the Redis parts and the ingestor; flush at shutdown."""
    settings: Settings = app.state.settings
    if settings.track_create_topic:
        await asyncio.to_thread(ensure_topic, settings, settings.track_startup_timeout_s)
    if not settings.api_keys:
        log.warning("write keys are off (TRACK_API_KEYS is empty): anyone who can reach this service can send events")
    publisher = EventPublisher(settings)
    publisher.start()
    recent = RecentEventIds(settings.track_dedup_horizon_s, settings.track_dedup_max_entries)
    client = redis_client(settings)
    keys = RedisKeys(settings.redis_key_prefix)
    admission = shared = None
    if client is not None and settings.track_max_event_types:
        admission = EventTypeAdmission(
            client, keys, settings.track_max_event_types, settings.event_type_quiet_s,
            settings.track_admission_cache_s, app.state.prometheus,
        )
    if client is not None and settings.track_dedup_horizon_s and settings.track_dedup_shared:
        shared = SharedEventIds(client, keys, settings.track_dedup_horizon_s, settings.publication_bound_s,
                                app.state.prometheus)
    app.state.ingestor = Ingestor(publisher, recent, app.state.prometheus, admission, shared)
    app.state.coalescer = SingleEventCoalescer(app.state.ingestor, settings.track_max_batch_events)
    try:
        yield
    finally:
        unsent = await publisher.close(10)
        if unsent:
            log.warning("%d events were still unacknowledged at shutdown", unsent)
        if shared is not None:
            await shared.close()
        if client is not None:
            await client.aclose()


async def rejected(request: Request, error: Exception) -> JSONResponse:
    """A refused request: counted by reason, answered with its status, message and headers."""
    assert isinstance(error, RequestRejected)
    request.app.state.prometheus.rejected.labels(error.reason).inc()
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers or None)


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        docs_url=None, redoc_url=None,  # served by add_offline_docs below
        title="track_service",
        summary="Event ingestion: events are answered 202 once Kafka has acknowledged them.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    add_offline_docs(app)
    app.state.prometheus = TrackPrometheus()
    app.add_exception_handler(RequestRejected, rejected)
    app.include_router(track.build_router(settings))
    app.include_router(health.router)
    app.include_router(prometheus.router)
    app.add_middleware(SingleEventRoute)  # answers POST /track itself: issue 20, single_route.py
    return app
