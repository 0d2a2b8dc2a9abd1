"""Waiting is code, not `sleep`: poll a condition until a deadline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tenacity


def wait_until(condition: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.2) -> Any:
    """Poll until `condition()` is truthy and return its value; TimeoutError naming `what` after the deadline.

    An exception from `condition` is not retried: it ends the wait at once (e.g. the process died)."""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(timeout_s),
        wait=tenacity.wait_fixed(interval_s),
        retry=tenacity.retry_if_result(lambda value: not value),
    )
    try:
        return retrying(condition)
    except tenacity.RetryError:
        raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}") from None
