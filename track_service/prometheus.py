"""The ingestion service's Prometheus counters (served at /internal/metrics), one registry per app
(so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

PROMETHEUS_PATH = "/internal/metrics"  # the seed's /metrics belongs to the insights API


class TrackPrometheus:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.accepted = Counter(
            "track_events_accepted", "Events acknowledged by Kafka and answered 202.", ["endpoint"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "track_events_rejected", "Requests or batch items refused, by reason.", ["reason"],
            registry=self.registry,
        )
        self.duplicates = Counter(
            "track_events_duplicate", "Retried event_ids acknowledged without publishing again.",
            registry=self.registry,
        )
        self.produce_latency = Histogram(
            "track_produce_latency_seconds", "From produce() to Kafka's ack (or failure), per request.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )

        self.admission_unchecked = Counter(
            "track_admission_unchecked",
            "Event-type admission checks skipped because Redis did not answer (those events were admitted).",
            registry=self.registry,
        )
        self.dedup_unshared = Counter(
            "track_dedup_unshared",
            "Client event_ids published without the shared (Redis) memory because Redis did not answer: a retry "
            "on another replica may publish them again.",
            registry=self.registry,
        )
        self.live_event_types = Gauge(
            "track_live_event_types", "Live event types in the admission registry at the last check (all replicas).",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
