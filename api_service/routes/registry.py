"""The names windows were written for: event types, window sizes and breakdown properties."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api_service.deps import HistoryDep, RealtimeDep
from api_service.params import Limit, WindowSize
from api_service.windows_store import newest_by_volume
from contracts.window_results import WindowMetrics

TOP_DEFAULT = 10


class TopWindow(BaseModel):
    """The newest window of one event type, in the WebSocket's format."""

    window_start: int
    window_end: int
    count: int
    total_value: float | None
    unique_users: int
    event_type: str
    window_size: str


class TopResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "window_size": "30s", "live_event_types": 2,
        "event_types": [
            {"window_start": 1719392400000, "window_end": 1719392430000, "count": 142, "total_value": 8563.21,
             "unique_users": 23, "event_type": "click", "window_size": "30s"},
            {"window_start": 1719392400000, "window_end": 1719392430000, "count": 12, "total_value": 240.0,
             "unique_users": 9, "event_type": "purchase", "window_size": "30s"},
        ],
    }]})
    window_size: str
    live_event_types: int = Field(description="How many event types are live (listed by /metrics/event-types).")
    event_types: list[TopWindow]


class BreakdownPropertiesResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"breakdown_properties": {"click": ["country"], "purchase": ["country", "plan"]}},
    ]})
    breakdown_properties: dict[str, list[str]] = Field(
        description="Live event type -> its live breakdown properties, sorted; types without any are left out."
    )


router = APIRouter(tags=["registry"])


@router.get("/metrics/event-types", summary="Known event types")
async def get_event_types(realtime: RealtimeDep) -> dict[str, list[str]]:
    """Every event type a window was written for, sorted.

    Example: `{"event_types": ["click", "purchase"]}`"""
    return {"event_types": await realtime.event_types()}


@router.get("/metrics/window-sizes", summary="Known window sizes")
async def get_window_sizes(realtime: RealtimeDep) -> dict[str, list[str]]:
    """Every window size a window was written for, shortest first.

    Example: `{"window_sizes": ["30s", "5m"]}`"""
    return {"window_sizes": await realtime.window_sizes()}


@router.get("/metrics/breakdown-properties", summary="Breakdown properties per event type")
async def get_breakdown_properties(realtime: RealtimeDep) -> BreakdownPropertiesResponse:
    """The properties (`breakdown=` of `/metrics*` and `/live-metrics`) each live event type has windows for,
    from the live registries `{prefix}:registry:breakdown_properties:{event_type}` (a property quiet for
    `EVENT_TYPE_QUIET_S` drops out, as event types do), so a client such as the dashboard's "Split by" can offer
    them without knowing the job's settings. Empty when the job runs without `BREAKDOWN_PROPERTIES`.

    Example: `{"breakdown_properties": {"click": ["country"], "purchase": ["country", "plan"]}}`"""
    return BreakdownPropertiesResponse(breakdown_properties=await realtime.breakdown_properties())


@router.get("/metrics/top", response_model=TopResponse, summary="Event types by volume, with their newest window")
async def get_top(
    realtime: RealtimeDep, history: HistoryDep, window_size: WindowSize = "30s", limit: Limit = TOP_DEFAULT
) -> JSONResponse:
    """The `limit` live event types with the most events in their newest window, each with that window, in
    one request. Types whose newest window is the newest of all come first, by `count` (ties by name); then
    types that have gone quiet, most recently active first. A type's newest window comes from Redis, or from
    PostgreSQL once synced. `live_event_types` says how many there are in all."""
    event_types = await realtime.event_types()
    latest: dict[str, WindowMetrics] = {window.event_type: window for window in
                                        await realtime.latest_of(event_types, window_size)}
    synced_only = [name for name in event_types if name not in latest]
    if synced_only and history is not None:
        latest.update((window.event_type, window) for window in await history.latest_of(synced_only, window_size))
    ranked = newest_by_volume(latest.values())[:limit]
    body: dict[str, Any] = {"window_size": window_size, "live_event_types": len(event_types),
                            "event_types": [window.to_message() for window in ranked]}
    return JSONResponse(body)
