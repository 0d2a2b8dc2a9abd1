"""Settings of the PyFlink job and its submit command."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from contracts.settings import KafkaSettings, RedisSettings, RegistrySettings, WindowSettings

# Built by `make setup` (mvn package in flink_service/functions); images set FLINK_FUNCTIONS_JAR.
FUNCTIONS_JAR = Path(__file__).resolve().parent / "functions" / "target" / "event-functions.jar"


class Settings(KafkaSettings, RedisSettings, RegistrySettings, WindowSettings):
    flink_rest_url: str = Field(default="http://localhost:8081", description="JobManager REST endpoint.")
    flink_job_name: str = Field(default="event-metrics", min_length=1)
    flink_parallelism: int = Field(default=1, ge=1)
    flink_checkpoint_interval_s: int = Field(default=10, ge=1)
    kafka_consumer_group: str = Field(default="flink-event-metrics", min_length=1)
    source_idle_timeout_s: int = Field(
        default=60,
        ge=1,
        description=(
            "A partition without any record (heartbeats included) for this long stops holding back the "
            "watermark. Heartbeats keep partitions active; a short timeout makes a partition that wakes up "
            "again deliver late records."
        ),
    )
    redis_ttl_s: int = Field(default=3600, ge=0, description="Expiry of each window sorted set; 0 keeps them.")
    print_results: bool = Field(default=False, description="Also print every window result to stdout.")
    max_future_s: int = Field(
        default=300, ge=0, description="Events stamped further than this in the future are skipped as absurd."
    )
    flink_savepoint_dir: str = Field(
        default="",
        pattern=r"^(file://.+)?$",
        description="file:// directory for savepoints: stop writes one, submit resumes from the newest; empty = off.",
    )
    flink_functions_jar: Path = Field(
        default=FUNCTIONS_JAR, description="The job's Java functions (flink_service/functions), shipped with the job."
    )
    heartbeat_interval_s: float = Field(default=5, gt=0, description="Seconds between watermark heartbeats.")
