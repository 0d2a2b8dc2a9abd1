"""bench_single counts what track_service answered 202 from wrk's report, to check its topic against it."""

from __future__ import annotations

from bench.bench_single import answered_2xx
from tests.bench.test_bench_api import WRK_OUTPUT


def test_socket_errors_are_not_answers_and_non_2xx_are_not_accepted() -> None:
    assert answered_2xx(WRK_OUTPUT) == 6240 - 5
