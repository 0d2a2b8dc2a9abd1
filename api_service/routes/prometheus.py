"""The insights API's Prometheus text metrics at /internal/metrics (its /metrics is the seed's windows)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from api_service.deps import PrometheusDep, RealtimeDep, RelayDep, SettingsDep
from api_service.prometheus import PROMETHEUS_PATH
from api_service.routes.health import freshness_if_known

router = APIRouter(tags=["ops"])
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


@router.get(PROMETHEUS_PATH, summary="Prometheus text metrics: freshness and the live relay", response_class=Response,
            responses={200: {"content": {TEXT_FORMAT: {"schema": {"type": "string"}}}}})
async def prometheus(
    realtime: RealtimeDep, relay: RelayDep, settings: SettingsDep, counters: PrometheusDep
) -> Response:
    freshness = await freshness_if_known(realtime)
    return Response(counters.render(freshness, settings.api_freshness_max_s, relay), media_type=TEXT_FORMAT)
