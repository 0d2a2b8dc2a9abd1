"""Waiting for a dependency (Kafka, PostgreSQL, Redis, the Flink JobManager), with tenacity.

Every wait backs off exponentially from `initial_s`, doubling up to `max_s`, logs before each pause
what it waits for and why, and, given a timeout, never sleeps past it and then raises the last error.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception_type, stop_after_delay, stop_never

Wait = Callable[[RetryCallState], float]


def backoff_delay_s(attempt: int, initial_s: float, max_s: float) -> float:
    """The pause after the attempt-th consecutive failure: initial_s, 2x, 4x ... capped at max_s."""
    return float(min(max_s, initial_s * 2 ** min(attempt - 1, 30)))


def backoff(initial_s: float, max_s: float, timeout_s: float | None = None) -> Wait:
    """A tenacity wait: `backoff_delay_s`, shortened so that no pause ends past `timeout_s` (if given)."""

    def wait(state: RetryCallState) -> float:
        delay = backoff_delay_s(state.attempt_number, initial_s, max_s)
        if timeout_s is None:
            return delay
        return max(0.0, min(delay, timeout_s - (state.seconds_since_start or 0.0)))

    return wait


def describe(error: BaseException | None) -> str:
    """An error as a short reason: librdkafka's message for a KafkaException, else the exception's text."""
    if error is None:
        return "no error"
    text = str(error.args[0]) if len(error.args) == 1 else str(error)
    return text[:300] or type(error).__name__


def log_wait(log: logging.Logger, what: str, level: int = logging.INFO) -> Callable[[RetryCallState], None]:
    """A tenacity `before_sleep`: 'waiting for WHAT (why), retrying in N s'."""

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.log(level, "waiting for %s (%s), retrying in %.1fs", what, describe(error), state.upcoming_sleep)

    return before_sleep


def _options(
    what: str, log: logging.Logger, retry_on: tuple[type[BaseException], ...], initial_s: float, max_s: float,
    timeout_s: float | None, level: int,
) -> dict[str, object]:
    return {
        "retry": retry_if_exception_type(retry_on),
        "wait": backoff(initial_s, max_s, timeout_s),
        "stop": stop_never if timeout_s is None else stop_after_delay(timeout_s),
        "before_sleep": log_wait(log, what, level),
        "reraise": True,
    }


def waiting(
    what: str, log: logging.Logger, retry_on: tuple[type[BaseException], ...], *, initial_s: float = 0.5,
    max_s: float = 5.0, timeout_s: float | None = None, level: int = logging.INFO,
) -> Retrying:
    """Attempts (`for attempt in waiting(...): with attempt: ...`) until one raises nothing in `retry_on`."""
    return Retrying(**_options(what, log, retry_on, initial_s, max_s, timeout_s, level))  # type: ignore[arg-type]


def waiting_async(
    what: str, log: logging.Logger, retry_on: tuple[type[BaseException], ...], *, initial_s: float = 0.5,
    max_s: float = 5.0, timeout_s: float | None = None, level: int = logging.INFO,
) -> AsyncRetrying:
    """`waiting` for coroutines: `async for attempt in waiting_async(...): with attempt: ...`."""
    return AsyncRetrying(**_options(what, log, retry_on, initial_s, max_s, timeout_s, level))  # type: ignore[arg-type]


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: a long-running loop waits on it between rounds and ends when set."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    return stopping
