"""Prometheus text metrics of the worker, on their own registry (one per worker, so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server


class SyncPrometheus:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rows_synced = Counter(
            "sync_rows_synced", "Windows upserted into PostgreSQL and deleted from Redis.", registry=self.registry
        )
        self.stale_entries = Counter(
            "sync_stale_entries",
            "Synced members that Flink rewrote before the delete; they stay for the next cycle.",
            registry=self.registry,
        )
        self.invalid_entries = Counter(
            "sync_invalid_entries", "Members that are not a valid WindowMetrics (left in Redis).",
            registry=self.registry,
        )
        self.errors = Counter(
            "sync_errors", "Failed cycles (Redis or PostgreSQL unavailable or failing).", ["stage"],
            registry=self.registry,
        )
        self.lag_seconds = Gauge(
            "sync_lag_seconds", "Age since closing of the oldest closed window still in Redis (0 when none).",
            registry=self.registry,
        )
        self.cycle_seconds = Gauge("sync_cycle_seconds", "Duration of the last cycle.", registry=self.registry)
        self.last_success = Gauge(
            "sync_last_success_timestamp_seconds", "Unix time of the last successful cycle.", registry=self.registry
        )

        self.retention_rows_deleted = Counter(
            "sync_retention_rows_deleted", "History rows deleted past their tier's retention (HISTORY_RETENTION).",
            ["window_size"], registry=self.registry,
        )
        self.retention_batches = Counter(
            "sync_retention_batches", "DELETE statements of the retention task.", registry=self.registry
        )
        self.retention_errors = Counter(
            "sync_retention_errors", "Failed retention runs (tried again at the next interval).", registry=self.registry
        )
        self.retention_run_seconds = Gauge(
            "sync_retention_run_seconds", "Duration of the last retention run.", registry=self.registry
        )
        self.retention_last_run = Gauge(
            "sync_retention_last_run_timestamp_seconds", "Unix time the last retention run ended.",
            registry=self.registry,
        )

    def serve(self, host: str, port: int) -> None:
        """Serve /metrics in a daemon thread; port 0 disables it."""
        if port:
            start_http_server(port, addr=host, registry=self.registry)
