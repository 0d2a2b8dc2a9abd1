"""The insights API's Prometheus metrics (served at /internal/metrics: the seed's /metrics is the windows
endpoint), one registry per app. Freshness gauges are read from Redis at each scrape."""

from __future__ import annotations

import math

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from api_service.freshness import Freshness
from api_service.relay import LiveRelay

PROMETHEUS_PATH = "/internal/metrics"


class ApiPrometheus:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()

        def gauge(name: str, documentation: str) -> Gauge:
            return Gauge(name, documentation, registry=self.registry)

        self.last_window_age = gauge(
            "api_last_window_written_age_seconds", "Since the Flink job last wrote a window (NaN: never).")
        self.watermark_lag = gauge(
            "api_watermark_lag_seconds", "Since the newest window ended: bounds the watermark lag (NaN: none yet).")
        self.last_event_age = gauge(
            "api_last_event_accepted_age_seconds", "Since track_service last accepted an event (NaN: unknown).")
        self.degraded = gauge("api_freshness_degraded", "1 when events arrive but windows do not follow, else 0.")
        self.redis_up = gauge("api_redis_up", "1 when Redis answered the freshness read of this scrape.")
        self.live_clients = gauge("api_live_clients", "WebSocket clients connected to /live-metrics.")
        self.dropped_clients = gauge("api_live_dropped_clients", "WebSocket clients dropped as too slow, in all.")
        self.relayed = gauge("api_live_messages", "Window updates relayed from Redis pub/sub, in all.")

    def render(self, freshness: Freshness | None, max_age_s: float, relay: LiveRelay) -> bytes:
        self.redis_up.set(freshness is not None)
        figures = (None, None, None) if freshness is None else (
            freshness.last_window_written_s_ago, freshness.watermark_lag_s, freshness.last_event_s_ago)
        for gauge, seconds in zip((self.last_window_age, self.watermark_lag, self.last_event_age), figures,
                                  strict=True):
            gauge.set(math.nan if seconds is None else seconds)
        self.degraded.set(bool(freshness is not None and freshness.problems(max_age_s)))
        self.live_clients.set(len(relay.clients))
        self.dropped_clients.set(relay.dropped_total)
        self.relayed.set(relay.messages_total)
        return generate_latest(self.registry)
