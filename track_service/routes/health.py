"""Readiness: 200 when Kafka answers and the events topic exists."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from track_service.deps import MaybeIngestorDep, SettingsDep

router = APIRouter()


@router.get("/health", summary="Ready when Kafka answers and the events topic exists")
async def health(settings: SettingsDep, ingestor: MaybeIngestorDep) -> JSONResponse:
    problem = "starting" if ingestor is None else await asyncio.to_thread(ingestor.publisher.kafka_reachable)
    if problem is None:
        return JSONResponse({"status": "ok", "kafka": "reachable", "topic": settings.kafka_events_topic})
    return JSONResponse({"status": "unavailable", "detail": problem}, 503, settings.retry_after_header)
