"""Test-only crash injection: `SYNC_CRASH_AT=POINT[@N]` ends the process abruptly at a named point.

The exit is `os._exit`, which runs no cleanup (no `finally`, no commit, no connection close), so it
behaves like `kill -9` at exactly that point. Points, in the order a batch passes them:

- `after_read`: the batch was read from Redis, nothing written yet.
- `mid_batch`: rows were copied and upserted inside the PostgreSQL transaction, not committed.
- `after_commit`: PostgreSQL committed, nothing deleted from Redis yet.
- `mid_delete`: the members of the batch's first key were deleted from Redis, the others not.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Awaitable, Callable

CRASH_POINTS = ("after_read", "mid_batch", "after_commit", "mid_delete")
CRASH_EXIT_CODE = 97

log = logging.getLogger(__name__)

# Called by the worker at each point with the point's name; tests also use it to act between steps.
PointHook = Callable[[str], Awaitable[None]]


def parse_crash_at(text: str) -> tuple[str, int] | None:
    """'' -> None, 'after_commit' -> ('after_commit', 1), 'mid_batch@3' -> ('mid_batch', 3)."""
    if not text.strip():
        return None
    point, _, nth = text.strip().partition("@")
    if point not in CRASH_POINTS:
        raise ValueError(f"unknown crash point {point!r}: use one of {', '.join(CRASH_POINTS)}, optionally @N")
    if not nth:
        return point, 1
    if not nth.isdigit() or int(nth) < 1:
        raise ValueError(f"bad batch number {nth!r} in {text!r}: use POINT@N with N >= 1")
    return point, int(nth)


def crash_hook(spec: str) -> PointHook | None:
    """A hook exiting the process at the N-th time the named point is reached; None when unset."""
    parsed = parse_crash_at(spec)
    if parsed is None:
        return None
    target, nth = parsed
    seen = 0

    async def hook(point: str) -> None:
        nonlocal seen
        if point != target:
            return
        seen += 1
        if seen == nth:
            log.warning("crash injected at %s of batch %d (SYNC_CRASH_AT)", point, nth)
            logging.shutdown()
            sys.stderr.flush()
            os._exit(CRASH_EXIT_CODE)

    return hook
