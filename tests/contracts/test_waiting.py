"""contracts.waiting: the backoff, its timeout, and what a wait logs."""

from __future__ import annotations

import logging

import pytest
from tenacity import RetryCallState, Retrying

from contracts.waiting import backoff, waiting


def state_after(attempt: int, elapsed_s: float) -> RetryCallState:
    state = RetryCallState(Retrying(), None, (), {})
    state.attempt_number = attempt
    state.outcome_timestamp = state.start_time + elapsed_s
    return state


def test_backoff_doubles_to_its_cap_and_never_sleeps_past_the_timeout() -> None:
    assert [backoff(0.5, 3)(state_after(n, 0)) for n in range(1, 6)] == [0.5, 1, 2, 3, 3]
    assert backoff(0.5, 5, timeout_s=10)(state_after(4, 8.5)) == pytest.approx(1.5)
    assert backoff(0.5, 5, timeout_s=10)(state_after(4, 11)) == 0


def test_waiting_retries_what_it_is_told_and_logs_each_wait(caplog: pytest.LogCaptureFixture) -> None:
    calls = []
    log = logging.getLogger("test.waiting")
    with caplog.at_level(logging.INFO, "test.waiting"):
        for attempt in waiting("the thing", log, (ConnectionError,), initial_s=0.01, max_s=0.02):
            with attempt:
                calls.append(1)
                if len(calls) < 3:
                    raise ConnectionError("refused")
    assert len(calls) == 3
    assert caplog.messages == [
        "waiting for the thing (refused), retrying in 0.0s",
        "waiting for the thing (refused), retrying in 0.0s",
    ]
    with pytest.raises(ValueError, match="not retried"):
        for attempt in waiting("the thing", log, (ConnectionError,)):
            with attempt:
                raise ValueError("not retried")


def test_waiting_gives_up_after_its_timeout_with_the_last_error() -> None:
    with pytest.raises(ConnectionError, match="still refused"):
        for attempt in waiting("the thing", logging.getLogger("test"), (ConnectionError,), initial_s=0.05,
                               timeout_s=0.2):
            with attempt:
                raise ConnectionError("still refused")
