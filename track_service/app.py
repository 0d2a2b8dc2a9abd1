"""HTTP API of the ingestion service: POST /track, POST /track/batch, /health, Prometheus metrics.

An event is answered 202 only after Kafka acknowledged it (acks=all). Bodies are read as raw
bytes under a size limit and validated here, so bad input always gets a 4xx naming the field.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from contracts.events import TrackEvent, now_ms
from track_service.admin import ensure_topic
from track_service.dedup import Attempt, RecentEventIds
from track_service.metrics import PROMETHEUS_PATH, TrackMetrics
from track_service.publisher import EventPublisher
from track_service.records import EventRecord, check_item, read_batch
from track_service.settings import Settings
from track_service.validation import RequestRejected, parse_json_body

log = logging.getLogger("track_service")


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


_UNSET: dict[str, Any] = {}


class Ingestor:
    """Validates items, skips retried event_ids, publishes the rest and reports each item's fate."""

    def __init__(self, publisher: EventPublisher, recent: RecentEventIds, metrics: TrackMetrics) -> None:
        self.publisher = publisher
        self.recent = recent
        self.metrics = metrics

    async def ingest(self, checked: Sequence[EventRecord | RequestRejected], endpoint: str) -> list[dict[str, Any]]:
        """One result per checked item, shaped like `ItemResult` (plain dicts and column-wise passes:
        this runs for every event)."""
        results: list[dict[str, Any]] = [_UNSET] * len(checked)  # every slot is set below
        indexes: list[int] = []
        records: list[EventRecord] = []
        for index, item in enumerate(checked):
            if isinstance(item, RequestRejected):
                self.metrics.rejected.labels(item.reason).inc()
                results[index] = {"index": index, "status": "rejected", "error": item.detail, "errors": item.errors}
            else:
                indexes.append(index)
                records.append(item)
        attempt = self.recent.attempt()
        # Only a client-chosen event_id can come back in a retry.
        earlier = self.recent.claim_all([record[0] if record[3] else None for record in records], attempt)
        retries = [(indexes[position], records[position][0], claim) for position, claim in earlier.items()]
        if earlier:
            indexes = [index for position, index in enumerate(indexes) if position not in earlier]
            records = [record for position, record in enumerate(records) if position not in earlier]
        accepted = failed = 0
        if records:
            # Shielded: if the client disconnects, the publication still completes and settles
            # the dedup memory, so concurrent retries waiting on it are answered.
            errors = await asyncio.shield(self._publish(records, attempt))
            failed = len(errors) - errors.count(None)
            accepted = len(errors) - failed
            for index, record, error in zip(indexes, records, errors, strict=True):
                results[index] = _outcome(index, record[0], error, duplicate=False)
        for index, event_id, claim in retries:
            published = await claim.published(event_id)
            error = None if published else "an earlier attempt with this event_id failed at the same time"
            results[index] = _outcome(index, event_id, error, duplicate=True)
            self.metrics.duplicates.inc(published)
            failed += not published
        self.metrics.accepted.labels(endpoint).inc(accepted)
        self.metrics.rejected.labels("kafka_unavailable").inc(failed)
        return results

    async def _publish(self, records: list[EventRecord], attempt: Attempt) -> list[str | None]:
        started = time.perf_counter()
        errors: list[str | None] = ["the service failed while publishing"] * len(records)
        try:
            errors = await self.publisher.publish(records)
        finally:
            self.metrics.produce_latency.observe(time.perf_counter() - started)
            self.recent.settle(attempt, [record[0] for record, error in zip(records, errors, strict=True)
                                         if error is not None])
        return errors


def _outcome(index: int, event_id: str, error: str | None, duplicate: bool) -> dict[str, Any]:
    if error is None:
        return {"index": index, "status": "accepted", "event_id": event_id, "duplicate": duplicate}
    return {"index": index, "status": "failed", "event_id": event_id, "error": error}


def _event_schema() -> dict[str, Any]:
    return TrackEvent.model_json_schema()


def _json_body(schema: dict[str, Any], example: Any) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema, "example": example}}}}


def create_app(settings: Settings) -> FastAPI:
    metrics = TrackMetrics()
    state: dict[str, Ingestor] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.track_create_topic:
            await asyncio.to_thread(ensure_topic, settings)
        publisher = EventPublisher(settings)
        publisher.start()
        recent = RecentEventIds(settings.track_dedup_horizon_s, settings.track_dedup_max_entries)
        state["ingestor"] = Ingestor(publisher, recent, metrics)
        try:
            yield
        finally:
            unsent = await publisher.close(10)
            if unsent:
                log.warning("%d events were still unacknowledged at shutdown", unsent)

    app = FastAPI(
        title="track_service",
        summary="Event ingestion: events are answered 202 once Kafka has acknowledged them.",
        lifespan=lifespan,
    )
    keys = settings.api_keys
    limit = settings.track_max_body_bytes
    retry_after = {"Retry-After": str(settings.track_retry_after_s)}

    @app.exception_handler(RequestRejected)
    async def _rejected(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestRejected)
        metrics.rejected.labels(error.reason).inc()
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers or None)

    def authorize(request: Request) -> None:
        if not keys:
            return
        offered = request.headers.get("x-api-key")
        authorization = request.headers.get("authorization", "")
        if offered is None and authorization.lower().startswith("bearer "):
            offered = authorization[7:].strip()
        if offered is None or not any(hmac.compare_digest(offered.encode(), key.encode()) for key in keys):
            raise RequestRejected(
                401, "unauthorized", "a valid write key is required: send it as X-API-Key or Authorization: Bearer",
                headers={"WWW-Authenticate": "Bearer"},
            )

    async def read_body(request: Request) -> bytes:
        authorize(request)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise RequestRejected(413, "too_large", f"body of {declared} bytes exceeds the limit of {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():  # counts what is actually read, chunked bodies included
            size += len(chunk)
            if size > limit:
                raise RequestRejected(413, "too_large", f"body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    error_responses: dict[int | str, dict[str, Any]] = {
        400: {"model": ErrorBody, "description": "Malformed body (JSON, UTF-8, nesting, non-finite numbers)"},
        401: {"model": ErrorBody, "description": "Missing or wrong write key (when TRACK_API_KEYS is set)"},
        413: {"model": ErrorBody, "description": "Body (or batch) too large"},
        422: {"model": ErrorBody, "description": "A field is missing or has the wrong type or value"},
        503: {"model": ErrorBody, "description": "Kafka did not acknowledge: nothing was accepted, retry later"},
    }
    example = TrackEvent.model_config.get("json_schema_extra", {})["examples"][0]  # type: ignore[index]

    @app.post(
        "/track", status_code=202, response_model=TrackAccepted, responses=error_responses,
        openapi_extra=_json_body(_event_schema(), example),
        summary="Record one event",
    )
    async def track(request: Request) -> Response:
        document = parse_json_body(await read_body(request), settings.track_max_json_depth)
        [result] = await state["ingestor"].ingest([check_item(document, now_ms())], "track")
        if result["status"] == "rejected":  # already counted by ingest
            return JSONResponse({"detail": result["error"], "errors": result["errors"]}, 422)
        if result["status"] == "failed":
            return JSONResponse({"detail": f"{result['error']}; nothing was accepted, retry later"}, 503, retry_after)
        return JSONResponse({"status": "accepted", "event_id": result["event_id"], "duplicate": result["duplicate"]},
                            202)

    batch_schema = {
        "type": "object",
        "required": ["events"],
        "additionalProperties": False,
        "properties": {"events": {"type": "array", "items": _event_schema(),
                                  "minItems": 1, "maxItems": settings.track_max_batch_events}},
    }

    @app.post(
        "/track/batch", status_code=202, response_model=BatchResult,
        responses={**error_responses, 422: {"model": BatchResult, "description": "Every item was rejected"},
                   503: {"model": BatchResult, "description": "Some items were not acknowledged: retry those"}},
        openapi_extra=_json_body(batch_schema, {"events": [example, {"event_type": "purchase", "user_id": "u-7",
                                                                     "value": 19.99}]}),
        summary=f"Record up to {settings.track_max_batch_events} events; the answer reports each one",
    )
    async def track_batch(request: Request) -> Response:
        checked = read_batch(await read_body(request), settings.track_max_batch_events,
                             settings.track_max_json_depth, now_ms())
        results = await state["ingestor"].ingest(checked, "batch")
        counts = {"accepted": 0, "rejected": 0, "failed": 0}
        for result in results:
            counts[result["status"]] += 1
        status = 503 if counts["failed"] else 202 if counts["accepted"] else 422
        body = msgspec.json.encode({**counts, "results": results})
        return Response(body, status, retry_after if counts["failed"] else None, media_type="application/json")

    @app.get("/health", summary="Ready when Kafka answers and the events topic exists")
    async def health() -> JSONResponse:
        ingestor = state.get("ingestor")
        problem = "starting" if ingestor is None else await asyncio.to_thread(ingestor.publisher.kafka_reachable)
        if problem is None:
            return JSONResponse({"status": "ok", "kafka": "reachable", "topic": settings.kafka_events_topic})
        return JSONResponse({"status": "unavailable", "detail": problem}, 503, retry_after)

    @app.get(PROMETHEUS_PATH, summary="Prometheus text metrics", response_class=Response)
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return app
