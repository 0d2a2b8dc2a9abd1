"""POST /track and POST /track/batch: events are answered 202 once Kafka has acknowledged them.

Bodies are read as raw bytes under a size limit (`deps.read_body`) and checked here, so bad input
always gets a 4xx naming the field. Both endpoints require a write key when TRACK_API_KEYS is set.
"""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from contracts.events import TrackEvent, now_ms
from track_service.coalescer import SingleEventCoalescer
from track_service.deps import CoalescerDep, IngestorDep, RequestBody, SettingsDep, require_json, require_write_key
from track_service.records import read_batch, read_event
from track_service.settings import Settings
from track_service.validation import RequestRejected


class TrackAccepted(BaseModel):
    status: str = "accepted"
    event_id: str
    duplicate: bool = False


class ErrorBody(BaseModel):
    detail: str
    errors: list[dict[str, str]] | None = None


class ItemResult(BaseModel):
    index: int
    status: str  # accepted | rejected | failed
    event_id: str | None = None
    duplicate: bool | None = None
    error: str | None = None
    errors: list[dict[str, str]] | None = None


class BatchResult(BaseModel):
    accepted: int
    rejected: int
    failed: int
    results: list[ItemResult]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed body (JSON, UTF-8, nesting, non-finite numbers)"},
    401: {"model": ErrorBody, "description": "Missing or wrong write key (when TRACK_API_KEYS is set)"},
    413: {"model": ErrorBody, "description": "Body (or batch) too large"},
    415: {"model": ErrorBody, "description": "The body is not declared as JSON (Content-Type: application/json)"},
    422: {"model": ErrorBody, "description": "A field is missing or has the wrong type or value"},
    503: {"model": ErrorBody, "description": "Kafka did not acknowledge: nothing was accepted, retry later"},
}
BATCH_UNPROCESSABLE: dict[str, Any] = {
    "description": "Every item was rejected (a `BatchResult` reporting each), or the body is not "
    '`{"events": [...]}` (an `ErrorBody`)',
    "content": {"application/json": {"schema": {"anyOf": [
        {"$ref": "#/components/schemas/BatchResult"}, {"$ref": "#/components/schemas/ErrorBody"}]}}},
}
EXAMPLE = TrackEvent.model_config.get("json_schema_extra", {})["examples"][0]  # type: ignore[index]


async def answer_event(
    body: bytes, settings: Settings, coalescer: SingleEventCoalescer
) -> tuple[int, dict[str, Any], dict[str, str] | None]:
    """Status, body and headers of the answer to one event (`POST /track`); RequestRejected for a bad one.

    `single_route.SingleEventRoute` answers POST /track with it in front of FastAPI; the FastAPI route `track`
    below documents the endpoint in OpenAPI and answers the same way should a request reach it."""
    item = read_event(body, settings.track_max_json_depth, now_ms())
    if isinstance(item, RequestRejected):
        raise item
    result = await coalescer.ingest(item)
    if result["status"] == "rejected":  # refused by the admission limit, already counted by ingest
        return 422, {"detail": result["error"], "errors": result["errors"]}, None
    if result["status"] == "failed":
        return 503, {"detail": f"{result['error']}; nothing was accepted, retry later"}, settings.retry_after_header
    return 202, {"status": "accepted", "event_id": result["event_id"], "duplicate": result["duplicate"]}, None


async def track(body: RequestBody, settings: SettingsDep, coalescer: CoalescerDep) -> Response:
    status, answer, headers = await answer_event(body, settings, coalescer)
    return JSONResponse(answer, status, headers)


async def track_batch(body: RequestBody, settings: SettingsDep, ingestor: IngestorDep) -> Response:
    checked = read_batch(body, settings.track_max_batch_events, settings.track_max_json_depth, now_ms())
    results = await ingestor.ingest(checked, "batch")
    counts = {"accepted": 0, "rejected": 0, "failed": 0}
    for result in results:
        counts[result["status"]] += 1
    status = 503 if counts["failed"] else 202 if counts["accepted"] else 422
    headers = settings.retry_after_header if counts["failed"] else None
    return Response(msgspec.json.encode({**counts, "results": results}), status, headers, media_type="application/json")


def _event_schema() -> dict[str, Any]:
    return TrackEvent.model_json_schema()


def _json_body(schema: dict[str, Any], example: Any) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema, "example": example}}}}


def build_router(settings: Settings) -> APIRouter:
    """The two endpoints, documented with this configuration's batch limit, behind the write-key check."""
    routes = APIRouter(dependencies=[Depends(require_write_key), Depends(require_json)])
    routes.add_api_route(
        "/track", track, methods=["POST"], status_code=202, response_model=TrackAccepted,
        responses=ERROR_RESPONSES, openapi_extra=_json_body(_event_schema(), EXAMPLE), summary="Record one event",
    )
    batch_schema = {
        "type": "object",
        "required": ["events"],
        "additionalProperties": False,
        "properties": {"events": {"type": "array", "items": _event_schema(),
                                  "minItems": 1, "maxItems": settings.track_max_batch_events}},
    }
    routes.add_api_route(
        "/track/batch", track_batch, methods=["POST"], status_code=202, response_model=BatchResult,
        responses={**ERROR_RESPONSES, 422: BATCH_UNPROCESSABLE,
                   503: {"model": BatchResult, "description": "Some items were not acknowledged: retry those"}},
        openapi_extra=_json_body(batch_schema, {"events": [EXAMPLE, {"event_type": "purchase", "user_id": "u-7",
                                                                     "value": 19.99}]}),
        summary=f"Record up to {settings.track_max_batch_events} events; the answer reports each one",
    )
    return routes
