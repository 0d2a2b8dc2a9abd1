"""The insights API app: routers per resource (`api_service/routes/`), dependencies in `api_service/deps.py`,
what it opens and closes in `api_service/resources.py`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from redis.exceptions import RedisError

from api_service.fast_reads import FastReads
from api_service.prometheus import ApiPrometheus
from api_service.resources import lifespan
from api_service.routes import health, live, metrics, prometheus, registry, skipped
from api_service.routes.dashboard import mount_dashboard
from api_service.settings import Settings
from contracts.docs_pages import add_offline_docs

log = logging.getLogger(__name__)


async def validation_error(request: Request, error: Exception) -> JSONResponse:
    """A 422 whose message names each bad parameter, plus FastAPI's usual `detail`."""
    assert isinstance(error, RequestValidationError)
    details = jsonable_encoder(error.errors())
    message = "; ".join(f"{item['loc'][-1]}: {item['msg']}" for item in details)
    return JSONResponse(status_code=422, content={"message": f"invalid parameter {message}", "detail": details})


async def redis_down(request: Request, error: Exception) -> JSONResponse:
    log.warning("Redis error serving %s: %s", request.url.path, error)
    return JSONResponse(status_code=503, content={"detail": "Redis is not reachable; see GET /health"})


# FastAPI's OpenTelemetry hooks: off (the service exports Prometheus metrics; with them on, every request asks
# OpenTelemetry for its providers, a measured few percent of a /metrics/realtime answer).
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        telemetry=NO_TELEMETRY,
        docs_url=None, redoc_url=None,  # served by add_offline_docs below
        title="Real-time analytics insights API",
        version="0.1.0",
        description=(
            "Sliding-window metrics per event type: the newest windows from Redis, history from PostgreSQL, "
            "and live window updates over the `/live-metrics` WebSocket. The dashboard is at `/static/index.html`."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.prometheus = ApiPrometheus()
    add_offline_docs(app)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(RedisError, redis_down)
    for module in (metrics, registry, skipped, health, prometheus, live):
        app.include_router(module.router)
    mount_dashboard(app, settings)
    app.add_middleware(FastReads)  # answers the window reads itself: issue 14, fast_reads.py
    return app
