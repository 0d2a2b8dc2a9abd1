"""The window reads (`/metrics`, `/metrics/realtime`, `/metrics/history`) served straight from ASGI (issue 14).

Profiled under wrk, FastAPI's routing, dependency solving and parameter validation cost about a third of a
read. `FastReads` sits in front of them (a pure ASGI middleware): when a read's query string holds only the
endpoint's own parameters, each once and plainly valid (the same patterns and bounds as `api_service/params.py`),
it calls the endpoint function of `routes/metrics.py` itself, with the stores of `app.state`. Anything else
(a missing, repeated, unknown or invalid parameter, a check spanning parameters, an error while answering) goes
through the FastAPI app, which gives the documented answer or error. Both paths run the same endpoint code.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api_service.params import BREAKDOWN_PATTERN, MAX_LIMIT, RESOLUTION_PATTERN, TIME_PATTERN, WINDOW_SIZE_PATTERN
from api_service.routes.metrics import get_history, get_realtime, newest_windows
from contracts.events import EVENT_TYPE_PATTERN


class _Unsure(Exception):
    """The fast path does not answer this request: FastAPI does."""


def _pattern(pattern: str) -> Callable[[str], str]:
    match = re.compile(pattern).fullmatch

    def check(text: str) -> str:
        if match(text) is None:
            raise _Unsure
        return text

    return check


_LIMIT = re.compile(r"[1-9][0-9]{0,3}").fullmatch


def _limit(text: str) -> int:
    if _LIMIT(text) is None or int(text) > MAX_LIMIT:
        raise _Unsure
    return int(text)


# Each read parameter's check, giving the value the endpoint takes.
_CHECKS: dict[str, Callable[[str], Any]] = {
    "event_type": _pattern(EVENT_TYPE_PATTERN),
    "window_size": _pattern(WINDOW_SIZE_PATTERN),
    "limit": _limit,
    "breakdown": _pattern(BREAKDOWN_PATTERN),
    "start_time": _pattern(TIME_PATTERN),
    "end_time": _pattern(TIME_PATTERN),
    "resolution": _pattern(RESOLUTION_PATTERN),
}


@dataclass(frozen=True)
class _Read:
    endpoint: Callable[..., Awaitable[Response]]
    stores: tuple[str, ...]  # the `app.state` attributes it takes, by the same names

    @cached_property
    def parameters(self) -> frozenset[str]:
        """The endpoint's query parameters: its own, the stores aside."""
        return frozenset(inspect.signature(self.endpoint).parameters) - set(self.stores)


_NEWEST = _Read(newest_windows, ("realtime", "history"))
READS = {
    "/metrics": _NEWEST,
    "/metrics/metrics": _NEWEST,
    "/metrics/realtime": _Read(get_realtime, ("realtime",)),
    "/metrics/history": _Read(get_history, ("realtime", "history", "settings")),
}


def read_arguments(read: _Read, query_string: bytes) -> dict[str, Any]:
    """The endpoint's parameters from a query string (decoded as Starlette does), or _Unsure."""
    arguments: dict[str, Any] = {}
    for name, text in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name not in read.parameters or name in arguments:
            raise _Unsure
        arguments[name] = _CHECKS[name](text)
    if "event_type" not in arguments:
        raise _Unsure
    return arguments


class FastReads:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        read = READS.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "GET" else None
        if read is None:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        try:
            arguments = read_arguments(read, scope["query_string"])
            response = await read.endpoint(**{name: getattr(state, name) for name in read.stores}, **arguments)
        except Exception:  # FastAPI answers it: the documented error, or the same answer
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)
