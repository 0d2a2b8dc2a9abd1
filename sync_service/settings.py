"""Settings of the sync worker: the shared Redis and PostgreSQL settings plus the SYNC_* knobs."""

from __future__ import annotations

from pydantic import Field, field_validator

from contracts.settings import HistorySettings, PostgresSettings, RedisSettings
from sync_service.crash_points import parse_crash_at


class Settings(RedisSettings, PostgresSettings, HistorySettings):
    sync_interval_s: float = Field(default=5.0, gt=0, description="Pause between cycles when caught up.")
    sync_grace_s: float = Field(
        default=10.0,
        ge=0,
        description="A window is closed once window_end + this many seconds <= now (wall clock).",
    )
    allowed_lateness_s: int = Field(
        default=0, ge=0,
        description="The job's ALLOWED_LATENESS_S: a window may still be corrected that much longer, so it waits.",
    )
    sync_batch_size: int = Field(
        default=5000, ge=1, le=100_000, description="Windows per read/upsert/delete batch."
    )
    sync_backoff_initial_s: float = Field(default=0.5, gt=0, description="First retry delay after a failure.")
    sync_backoff_max_s: float = Field(default=30.0, gt=0, description="Cap of the doubling retry delay.")
    sync_metrics_host: str = Field(default="0.0.0.0", description="Bind address of the Prometheus endpoint.")
    sync_metrics_port: int = Field(
        default=9108, ge=0, le=65535, description="Port of the Prometheus text endpoint; 0 disables it."
    )
    sync_retention_interval_s: float = Field(
        default=300, ge=0,
        description="Seconds between runs of the retention task (rows past HISTORY_RETENTION deleted); 0 = off.",
    )
    sync_retention_batch_size: int = Field(
        default=5000, ge=1, le=100_000, description="Rows deleted per statement by the retention task."
    )
    sync_crash_at: str = Field(
        default="",
        description="Test-only: 'POINT' or 'POINT@N' makes the process exit abruptly at that point of batch N.",
    )

    @field_validator("sync_crash_at")
    @classmethod
    def _crash_at_parses(cls, value: str) -> str:
        parse_crash_at(value)
        return value
