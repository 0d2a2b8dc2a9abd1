"""The service's Prometheus text metrics, at /internal/metrics (the seed's /metrics is the insights API's)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from track_service.deps import PrometheusDep
from track_service.prometheus import PROMETHEUS_PATH

router = APIRouter()


@router.get(PROMETHEUS_PATH, summary="Prometheus text metrics", response_class=Response)
async def prometheus(counters: PrometheusDep) -> Response:
    return Response(counters.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
