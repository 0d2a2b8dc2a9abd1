"""Window metrics in the seed's shape: the newest windows (`/metrics`, `/metrics/realtime`) and history."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api_service.deps import HistoryDep, RealtimeDep, SettingsDep
from api_service.params import (
    DEFAULT_LIMIT,
    DEFAULT_WINDOW_SIZE,
    MAX_LIMIT,
    BreakdownProperty,
    EndTime,
    EventType,
    HistoryLimit,
    HistoryWindowSize,
    Limit,
    ResolutionParam,
    StartTime,
    WindowSize,
    query_error,
    time_ms,
)
from api_service.resolution import AUTO, ResolutionError, resolve
from api_service.windows_store import (
    FAR_FUTURE_MS,
    FAR_PAST_MS,
    Breakdown,
    Entry,
    HistoryStore,
    RealtimeStore,
    answer_body,
    merge_newest_first,
)
from contracts.events import now_ms

ENTRY_EXAMPLE: dict[str, Any] = {
    "window_start": 1719392400000,
    "count": 142,
    "total_value": 8563.21,
    "unique_users": 23,
    "p50": 42.0,
    "p95": 180.5,
    "p99": 311.0,
}


class MetricsEntryModel(BaseModel):
    window_start: int = Field(description="Start of the window, epoch milliseconds (UTC).")
    count: int = Field(description="Events in the window.")
    total_value: float | None = Field(
        description="Sum of the events' `value`; null only if the stored sum is not a finite number (a window "
        "written before values were bounded to 1e15)."
    )
    unique_users: int = Field(description="Distinct `user_id`s in the window.")
    p50: float | None = Field(default=None, description="Median of value in the window (absent before it was kept).")
    p95: float | None = Field(default=None, description="95th percentile of value.")
    p99: float | None = Field(default=None, description="99th percentile of value.")


class SeriesModel(BaseModel):
    value: str = Field(description="The property's value; `(none)`: no string value, `(other)`: values folded")
    entries: list[MetricsEntryModel]


class ResolutionModel(BaseModel):
    window_size: str = Field(description="The tier answering: its window size (also the answer's `window_size`).")
    slide: str = Field(description="Its slide: the time between two windows, e.g. `10s`, `1h`.")
    points: int | None = Field(description="Its windows in the range (null without start_time).")
    whole: bool = Field(description="Whether every window of the range is in the answer: at most `limit` of them, "
                        "and the tier's retention still keeps start_time.")


class MetricsResponseModel(BaseModel):
    """The seed's response body (built by `contracts.window_results.metrics_response`)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"event_type": "click", "window_size": "30s", "entries": [ENTRY_EXAMPLE]}]}
    )
    event_type: str
    window_size: str
    entries: list[MetricsEntryModel]
    breakdown: str | None = Field(default=None, description="Only with `breakdown=`: the property")
    series: list[SeriesModel] | None = Field(
        default=None, description="Only with `breakdown=`: the same windows per value of the property, largest first"
    )
    resolution: ResolutionModel | None = Field(default=None, description="Only with `resolution=`: the tier used")


METRICS_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"model": MetricsResponseModel}}
UNAVAILABLE = {"detail": "PostgreSQL is not reachable yet; see GET /health"}

router = APIRouter(tags=["metrics"])


def json_answer(body: bytes) -> Response:
    return Response(body, media_type="application/json")


async def broken_down(
    realtime: RealtimeStore, history: HistoryStore | None, event_type: str, window_size: str, breakdown: str,
    start_ms: int, end_ms: int, read: Callable[[Breakdown], Awaitable[list[Entry]]],
) -> list[dict[str, Any]]:
    """`read` for each value of the property (live in Redis, or with synced windows in the range), as
    `{"value", "entries"}` series, the most events first."""
    values = set(await realtime.breakdown_values(event_type, breakdown))
    if history is not None:
        values.update(await history.breakdown_values(event_type, window_size, breakdown, start_ms, end_ms))
    ordered = sorted(values)
    entries = await asyncio.gather(*(read((breakdown, value)) for value in ordered))
    series = [{"value": value, "entries": found} for value, found in zip(ordered, entries, strict=True)]
    return sorted(series, key=lambda item: -sum(entry.count for entry in item["entries"]))


async def answer(
    realtime: RealtimeStore, history: HistoryStore | None, event_type: str, window_size: str,
    breakdown: str | None, start_ms: int, end_ms: int, read: Callable[[Breakdown], Awaitable[list[Entry]]],
    **additions: Any,
) -> Response:
    """The seed's body for the event type's series, plus the property's series when `breakdown` is asked, and
    `additions`."""
    extra = {} if breakdown is None else {
        "breakdown": breakdown,
        "series": await broken_down(realtime, history, event_type, window_size, breakdown, start_ms, end_ms, read),
    }
    return json_answer(answer_body(event_type, window_size, await read(None), **extra, **additions))


async def newest_windows(
    realtime: RealtimeDep, history: HistoryDep, event_type: EventType, window_size: WindowSize = "30s",
    limit: Limit = DEFAULT_LIMIT, breakdown: BreakdownProperty = None,
) -> Response:
    if history is None:
        return JSONResponse(status_code=503, content=UNAVAILABLE)

    async def read(series: Breakdown) -> list[Entry]:
        stored, unsynced = await asyncio.gather(
            history.between(event_type, window_size, FAR_PAST_MS, FAR_FUTURE_MS, limit, series),
            realtime.newest(event_type, window_size, limit, series),
        )
        return merge_newest_first(stored, unsynced, limit)

    return await answer(realtime, history, event_type, window_size, breakdown, FAR_PAST_MS, FAR_FUTURE_MS, read)


NEWEST_DESCRIPTION = (
    "The newest `limit` windows, newest first, wherever they are: PostgreSQL (windows the sync worker moved) "
    "and Redis (windows not synced yet), merged by `window_start`, Redis winning a tie. The same windows as "
    "`/metrics/history` without a time range."
)
router.add_api_route(
    "/metrics", newest_windows, methods=["GET"], name="get_metrics", responses=METRICS_RESPONSES,
    summary="Newest windows (seed phase 3)", description=NEWEST_DESCRIPTION,
)
# The seed's own sample query (phase 3) says /metrics/metrics: the same answer, left out of the docs.
router.add_api_route(
    "/metrics/metrics", newest_windows, methods=["GET"], name="get_metrics_seed_alias", include_in_schema=False,
)


@router.get("/metrics/realtime", responses=METRICS_RESPONSES, summary="Windows still in Redis")
async def get_realtime(
    realtime: RealtimeDep, event_type: EventType, window_size: WindowSize = "30s", limit: Limit = DEFAULT_LIMIT,
    breakdown: BreakdownProperty = None,
) -> Response:
    """The windows Redis holds now, newest first: those the Flink job has written and the sync worker has
    not yet moved to PostgreSQL. A window is written once it has closed (the watermark passed its end; no
    partial values of open windows) and moved `SYNC_GRACE_S` (default 10 s) after its end, so this is
    usually the newest one or two windows of each series, and can be empty for a moment between a move
    and the next window. For the newest N windows whatever their place, use `/metrics`."""

    async def read(series: Breakdown) -> list[Entry]:
        return await realtime.newest(event_type, window_size, limit, series)

    return await answer(realtime, None, event_type, window_size, breakdown, FAR_PAST_MS, FAR_FUTURE_MS, read)


@router.get("/metrics/history", responses=METRICS_RESPONSES, summary="Windows in a time range")
async def get_history(
    realtime: RealtimeDep,
    history: HistoryDep,
    settings: SettingsDep,
    event_type: EventType,
    window_size: HistoryWindowSize = None,
    start_time: StartTime = None,
    end_time: EndTime = None,
    limit: HistoryLimit = None,
    breakdown: BreakdownProperty = None,
    resolution: ResolutionParam = None,
) -> Response:
    """Windows with `start_time <= window_start < end_time`, newest first: PostgreSQL, plus windows that
    have closed but are not synced yet, from Redis (Redis wins for the same `window_start`).
    `end_time` must be later than `start_time` (else 422 naming `end_time`). With `resolution` the history tier
    answering is chosen (see the parameter) and named in `resolution`; `window_size` and a `resolution` other
    than `auto` must then agree (else 422)."""
    start_ms, end_ms = time_ms(start_time, FAR_PAST_MS), time_ms(end_time, FAR_FUTURE_MS)
    if end_ms <= start_ms:
        raise query_error("end_time", "end_time must be later than start_time", end_time)
    now = now_ms()
    additions: dict[str, Any] = {}
    if resolution is None:
        size, count = window_size or DEFAULT_WINDOW_SIZE, limit or DEFAULT_LIMIT
    else:
        count = limit or MAX_LIMIT
        if resolution != AUTO and window_size not in (None, resolution):
            raise query_error("window_size", f"window_size {window_size} and resolution {resolution} disagree: "
                              "give one of them", window_size)
        try:
            chosen = resolve(
                settings.tiers, resolution, start_ms=None if start_time is None else start_ms,
                end_ms=None if end_time is None else end_ms, now_ms=now, budget=count,
                finest=window_size if resolution == AUTO else None,
            )
        except ResolutionError as error:
            name = "resolution" if resolution != AUTO else "window_size"
            raise query_error(name, str(error), resolution if name == "resolution" else window_size) from None
        size = chosen.window_size
        additions["resolution"] = chosen.body()
    if history is None:
        return JSONResponse(status_code=503, content=UNAVAILABLE)

    async def read(series: Breakdown) -> list[Entry]:
        stored, unsynced = await asyncio.gather(
            history.between(event_type, size, start_ms, end_ms, count, series),
            realtime.closed_between(event_type, size, start_ms, end_ms, now, count, series),
        )
        return merge_newest_first(stored, unsynced, count)

    return await answer(realtime, history, event_type, size, breakdown, start_ms, end_ms, read, **additions)
