"""api_service configuration: env vars (and `.env`), validated at start by `load_settings`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from contracts.settings import HistorySettings, PostgresSettings, RedisSettings, RegistrySettings

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(RedisSettings, PostgresSettings, RegistrySettings, HistorySettings):
    api_host: str = Field(default="0.0.0.0", description="Interface uvicorn binds to.")
    api_port: int = Field(default=8000, ge=1, le=65535, description="Port of the HTTP API and WebSocket.")
    dashboard_dir: Path = Field(
        default=REPO_ROOT / "dashboard" / "dist", description="Built dashboard, served at /static/."
    )
    ws_client_queue_size: int = Field(
        default=256, ge=1, description="Messages queued per WebSocket client; one further behind is dropped."
    )
    ws_ping_interval_s: float = Field(default=20.0, gt=0, description="Seconds between WebSocket keep-alive pings.")
    ws_ping_timeout_s: float = Field(default=20.0, gt=0, description="Seconds to wait for a pong before closing.")
    api_freshness_max_s: float = Field(
        default=60, gt=0,
        description="/health says degraded when events arrive but no window was written, or the newest window "
        "ended, longer ago than this (keep it above your smallest slide plus WATERMARK_DELAY_S).",
    )
    redis_reconnect_max_s: float = Field(
        default=5.0, gt=0, description="Longest pause between the live relay's attempts to reach Redis again."
    )
