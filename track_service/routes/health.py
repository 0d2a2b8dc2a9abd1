"""Readiness: 200 when Kafka answers and the events topic exists."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from track_service.admission import EventTypeAdmission
from track_service.deps import MaybeIngestorDep, SettingsDep
from track_service.settings import Settings
from track_service.shared_dedup import SharedEventIds

router = APIRouter()


def admission_state(admission: EventTypeAdmission | None) -> str:
    """`checked`, `unchecked` (Redis did not answer: events are admitted; see track_service/admission.py) or `off`."""
    if admission is None:
        return "off"
    return "checked" if admission.outage.answers else "unchecked: Redis does not answer, events are admitted"


def dedup_state(shared: SharedEventIds | None, settings: Settings) -> str:
    """`shared` (Redis, every replica), `in-process only` (Redis did not answer; see track_service/shared_dedup.py),
    `in-process` (TRACK_DEDUP_SHARED is false) or `off` (TRACK_DEDUP_HORIZON_S is 0)."""
    if not settings.track_dedup_horizon_s:
        return "off"
    if shared is None:
        return "in-process"
    return "shared" if shared.outage.answers else "in-process only: Redis does not answer"


HEALTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Ready", "content": {"application/json": {"example": {
        "status": "ok", "kafka": "reachable", "topic": "events", "event_type_limit": "checked",
        "event_id_dedup": "shared"}}}},
    503: {"description": "Kafka does not answer, the topic is missing, or the service is starting",
          "content": {"application/json": {"example": {"status": "unavailable", "detail": "..."}}}},
}


@router.get("/health", summary="Ready when Kafka answers and the events topic exists", responses=HEALTH_RESPONSES)
async def health(settings: SettingsDep, ingestor: MaybeIngestorDep) -> JSONResponse:
    problem = "starting" if ingestor is None else await asyncio.to_thread(ingestor.publisher.kafka_reachable)
    if problem is None:
        assert ingestor is not None
        return JSONResponse({"status": "ok", "kafka": "reachable", "topic": settings.kafka_events_topic,
                             "event_type_limit": admission_state(ingestor.admission),
                             "event_id_dedup": dedup_state(ingestor.shared, settings)})
    return JSONResponse({"status": "unavailable", "detail": problem}, 503, settings.retry_after_header)
