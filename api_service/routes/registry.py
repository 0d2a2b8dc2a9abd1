"""The names windows were written for: event types and window sizes."""

from __future__ import annotations

from fastapi import APIRouter

from api_service.deps import RealtimeDep

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
