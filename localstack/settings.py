"""What the local stack reads: the same env names compose and the services use, and where things live."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from contracts.settings import KafkaSettings, PostgresSettings, RedisSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
KAFKA_LIBS = REPO_ROOT / "localstack" / "target" / "kafka-libs"
FLINK_CONNECTOR_LIBS = REPO_ROOT / "localstack" / "target" / "flink-libs"
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


class StackSettings(KafkaSettings, RedisSettings, PostgresSettings):
    run_dir: Path = Field(default=REPO_ROOT / ".run")
    kafka_controller_port: int = Field(default=9093, ge=1, le=65535)
    flink_ui_port: int = Field(default=8081, ge=1, le=65535)
    # The JobManager's RPC port; the cluster's other ports (blob server, TaskManager RPC and data) are random.
    flink_rpc_port: int = Field(default=6123, ge=1, le=65535)
    # Tests run several jobs side by side on the one local TaskManager.
    flink_task_slots: int = Field(default=4, ge=1)
    flink_taskmanager_memory: str = Field(default="2560m", pattern=r"^[0-9]+[mg]$")
    flink_checkpoint_interval_s: int = Field(default=10, ge=1)
    kafka_heap: str = "512m"
    kafka_retention_hours: int = Field(default=168, ge=1, description="How long the broker keeps events (replay).")
    # The product's own processes (same env names as their services read).
    track_port: int = Field(default=8001, ge=1, le=65535)
    api_port: int = Field(default=8000, ge=1, le=65535)
    sync_metrics_port: int = Field(default=9108, ge=0, le=65535)
    loadgen_rate: float = Field(default=20, ge=0, description="Demo traffic of `make dev`, events/s; 0 = none.")

    @property
    def kafka_port(self) -> int:
        first = self.kafka_bootstrap_servers.split(",")[0]
        return int(first.rsplit(":", 1)[1])
