"""The service's Prometheus text metrics, at /internal/metrics (the seed's /metrics is the insights API's)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from track_service.deps import PrometheusDep
from track_service.prometheus import PROMETHEUS_PATH

router = APIRouter()


TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


@router.get(PROMETHEUS_PATH, summary="Prometheus text metrics", response_class=Response,
            responses={200: {"content": {TEXT_FORMAT: {"schema": {"type": "string"}}}}})
async def prometheus(counters: PrometheusDep) -> Response:
    """Accepted, rejected (by reason) and duplicate events, produce latency, the event-type admission."""
    return Response(counters.render(), media_type=TEXT_FORMAT)
