"""POST /track served straight from ASGI (issue 20): one event per request is the common client (a beacon, a
server hook, curl), so what a request costs besides its event sets the service's rate.

Profiled under wrk, FastAPI's routing, dependency solving and exception middlewares cost about as much as
ingesting the event. `SingleEventRoute` sits in front of them (a pure ASGI middleware) and answers
`POST /track` itself with the same steps as the documented route in `routes/track.py`, which serves the OpenAPI
document: the write key, the Content-Type, the body limit (`track_service/deps.py`), then `answer_event`
(validation, the coalescer, the answer). Everything else passes through to the FastAPI app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from track_service.deps import check_json_media_type, check_write_key, read_limited
from track_service.routes.track import answer_event
from track_service.validation import RequestRejected

_JSON = (b"content-type", b"application/json")
_encode = msgspec.json.Encoder().encode
# The request headers this route reads (ASGI servers send header names in lower case).
_READ = frozenset((b"x-api-key", b"authorization", b"content-type", b"content-length"))


class SingleEventRoute:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/track" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        settings = state.settings
        headers: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            if name in _READ and name not in headers:  # the first of repeated headers, as Starlette reads them
                headers[name] = value.decode("latin-1")
        try:
            check_write_key(settings.api_keys, headers.get(b"x-api-key"), headers.get(b"authorization"))
            check_json_media_type(headers.get(b"content-type"))
            body = await read_limited(_chunks(receive), headers.get(b"content-length"), settings.track_max_body_bytes)
            status, answer, extra = await answer_event(body, settings, state.coalescer)
        except RequestRejected as rejected:
            state.prometheus.rejected.labels(rejected.reason).inc()
            status, answer, extra = rejected.status, rejected.body(), rejected.headers
        except _ClientGone:
            return
        payload = _encode(answer)
        response_headers = [_JSON, (b"content-length", b"%d" % len(payload))]
        if extra:
            response_headers += [(name.lower().encode("latin-1"), value.encode("latin-1"))
                                 for name, value in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": payload})


class _ClientGone(Exception):
    """The client disconnected before its body was read: nobody to answer."""


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return
