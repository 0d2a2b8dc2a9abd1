"""What the ingestion endpoints depend on, as typed `Annotated[..., Depends(...)]` aliases.

`require_write_key` is the write-key check (TRACK_API_KEYS); `read_body` reads a request body under
TRACK_MAX_BODY_BYTES. The publisher and the Prometheus counters live on `app.state`, made by the app
(`track_service/app.py`). The functions are async so FastAPI calls them on the event loop.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Collection
from typing import Annotated

from fastapi import Depends, Request

from track_service.coalescer import SingleEventCoalescer
from track_service.ingest import Ingestor
from track_service.prometheus import TrackPrometheus
from track_service.settings import Settings
from track_service.validation import RequestRejected


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_ingestor(request: Request) -> Ingestor:
    """The ingestion pipeline (publisher and dedup memory), made by the lifespan before requests are served."""
    ingestor: Ingestor = request.app.state.ingestor
    return ingestor


async def get_coalescer(request: Request) -> SingleEventCoalescer:
    """What gathers concurrent POST /track events into one ingest call."""
    coalescer: SingleEventCoalescer = request.app.state.coalescer
    return coalescer


async def get_ingestor_if_started(request: Request) -> Ingestor | None:
    ingestor: Ingestor | None = getattr(request.app.state, "ingestor", None)
    return ingestor


async def get_prometheus(request: Request) -> TrackPrometheus:
    prometheus: TrackPrometheus = request.app.state.prometheus
    return prometheus


SettingsDep = Annotated[Settings, Depends(get_settings)]
IngestorDep = Annotated[Ingestor, Depends(get_ingestor)]
CoalescerDep = Annotated[SingleEventCoalescer, Depends(get_coalescer)]
MaybeIngestorDep = Annotated[Ingestor | None, Depends(get_ingestor_if_started)]
PrometheusDep = Annotated[TrackPrometheus, Depends(get_prometheus)]


def check_write_key(keys: Collection[str], api_key: str | None, authorization: str | None) -> None:
    """401 unless `api_key` (X-API-Key) or `authorization` (Bearer) is one of `keys`; open when there are none."""
    if not keys:
        return
    offered = api_key
    if offered is None and authorization is not None and authorization.lower().startswith("bearer "):
        offered = authorization[7:].strip()
    if offered is None or not any(hmac.compare_digest(offered.encode(), key.encode()) for key in keys):
        raise RequestRejected(
            401, "unauthorized", "a valid write key is required: send it as X-API-Key or Authorization: Bearer",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def require_write_key(request: Request, settings: SettingsDep) -> None:
    """401 unless the request carries one of TRACK_API_KEYS (X-API-Key or Authorization: Bearer); open when unset."""
    check_write_key(settings.api_keys, request.headers.get("x-api-key"), request.headers.get("authorization"))


def is_json_media_type(content_type: str) -> bool:
    """application/json or application/*+json, with no charset or UTF-8 (JSON's only encoding, RFC 8259)."""
    media, _, parameters = content_type.partition(";")
    media = media.strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        return False
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


def check_json_media_type(content_type: str | None) -> None:
    """415 unless the body is declared as JSON (`Content-Type: application/json`)."""
    if content_type is None or not is_json_media_type(content_type):
        got = f"got {content_type!r}" if content_type is not None else "none was sent"
        raise RequestRejected(
            415, "unsupported_media_type", f"send the body as JSON with Content-Type: application/json ({got})"
        )


async def require_json(request: Request) -> None:
    check_json_media_type(request.headers.get("content-type"))


async def read_limited(chunks: AsyncIterator[bytes], declared: str | None, limit: int) -> bytes:
    """The body from its `chunks`, 413 past `limit` bytes (declared in Content-Length or actually read, chunked
    bodies included)."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestRejected(413, "too_large", f"body of {declared} bytes exceeds the limit of {limit} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise RequestRejected(413, "too_large", f"body exceeds the limit of {limit} bytes")
        parts.append(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


async def read_body(request: Request, settings: SettingsDep) -> bytes:
    """The raw body, 413 past TRACK_MAX_BODY_BYTES."""
    return await read_limited(request.stream(), request.headers.get("content-length"), settings.track_max_body_bytes)


RequestBody = Annotated[bytes, Depends(read_body)]
