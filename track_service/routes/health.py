"""Readiness: 200 when Kafka answers and the events topic exists."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from track_service.admission import EventTypeAdmission
from track_service.deps import MaybeIngestorDep, SettingsDep

router = APIRouter()


def admission_state(admission: EventTypeAdmission | None) -> str:
    """`checked`, `unchecked` (Redis did not answer: events are admitted; see track_service/admission.py) or `off`."""
    if admission is None:
        return "off"
    return "checked" if admission.redis_answers else "unchecked: Redis does not answer, events are admitted"


@router.get("/health", summary="Ready when Kafka answers and the events topic exists")
async def health(settings: SettingsDep, ingestor: MaybeIngestorDep) -> JSONResponse:
    problem = "starting" if ingestor is None else await asyncio.to_thread(ingestor.publisher.kafka_reachable)
    if problem is None:
        assert ingestor is not None
        return JSONResponse({"status": "ok", "kafka": "reachable", "topic": settings.kafka_events_topic,
                             "event_type_limit": admission_state(ingestor.admission)})
    return JSONResponse({"status": "unavailable", "detail": problem}, 503, settings.retry_after_header)
