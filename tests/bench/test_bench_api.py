"""bench_api reads wrk's report: requests/s, the percentiles in any unit, and every kind of error."""

from __future__ import annotations

from bench.bench_api import HttpFigures, parse_wrk

WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:40000/metrics/realtime?event_type=bench
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.12ms    1.23ms  20.00ms   80.00%
    Req/Sec     1.56k   100.00     1.80k    70.00%
  Latency Distribution
     50%  850.00us
     75%    5.50ms
     90%    6.50ms
     99%    1.20s
  6240 requests in 2.00s, 3.12MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 5
Requests/sec:   3119.90
Transfer/sec:    639.46KB
""".replace("1.20s", "1.20s ")  # wrk pads some values with a space


def test_wrk_report_is_read_whole() -> None:
    assert parse_wrk("/metrics/realtime", WRK_OUTPUT) == HttpFigures("/metrics/realtime", 3119.90, 0.85, 1200.0, 10)
