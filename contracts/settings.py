"""Settings shared by the services: one env name per knob, the same in compose and locally.

Each service composes the mixins it needs into its own `Settings` class and loads it with
`load_settings`, which turns a validation error into one clear line and exit code 2.
"""

from __future__ import annotations

import sys
from typing import TypeVar

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.tiers import DEFAULT_HISTORY_RETENTION, DEFAULT_WINDOW_SPECS, Tier, build_tiers, retention_of
from contracts.windows import WindowSpec, parse_window_specs

# The names both Python's logging and uvicorn know.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class BaseServiceSettings(BaseSettings):
    """Reads env vars (and `.env`), ignoring variables that belong to other services."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    log_level: str = Field(default="INFO", description="Python logging level.")

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"use one of {', '.join(LOG_LEVELS)}")
        return value


class KafkaSettings(BaseServiceSettings):
    kafka_bootstrap_servers: str = Field(default="localhost:9092", min_length=1)
    kafka_events_topic: str = Field(default="events", pattern=r"^[A-Za-z0-9._-]{1,249}$")
    kafka_topic_partitions: int = Field(default=3, ge=1)
    kafka_topic_replication: int = Field(default=1, ge=1)
    kafka_late_topic: str = Field(
        default="events-late", pattern=r"^[A-Za-z0-9._-]{1,249}$",
        description="Dead letters: events too late for their windows, written unchanged by the job.",
    )


class RedisSettings(BaseServiceSettings):
    redis_host: str = "localhost"
    redis_port: int = Field(default=6379, ge=1, le=65535)
    redis_password: str = "redispass"
    redis_db: int = Field(default=0, ge=0)
    redis_key_prefix: str = Field(default="metrics", pattern=r"^[A-Za-z0-9_.-]{1,64}$")

    @property
    def redis_url(self) -> str:
        auth = f":{self.redis_password}@" if self.redis_password else ""
        return f"redis://{auth}{self.redis_host}:{self.redis_port}/{self.redis_db}"


class RegistrySettings(BaseServiceSettings):
    """The live registries of event types (contracts/redis_keys.py): when a name counts as gone quiet."""

    event_type_quiet_s: int = Field(
        default=3600, ge=1,
        description=(
            "An event type (or window size) with no window ending within this many seconds of the newest window "
            "drops out of the API's lists; one track_service has not accepted for this long frees its admission slot."
        ),
    )


class PostgresSettings(BaseServiceSettings):
    postgres_host: str = "localhost"
    postgres_port: int = Field(default=5432, ge=1, le=65535)
    postgres_db: str = "analytics"
    postgres_user: str = "admin"
    postgres_password: str = "adminpass"
    postgres_schema: str = Field(default="public", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

    @property
    def postgres_dsn(self) -> str:
        return (
            f"postgresql://{self.postgres_user}:{self.postgres_password}"
            f"@{self.postgres_host}:{self.postgres_port}/{self.postgres_db}"
        )


class WindowSettings(BaseServiceSettings):
    window_specs: str = Field(
        default=DEFAULT_WINDOW_SPECS,
        description="Comma-separated windows as SIZE/SLIDE, e.g. '30s/10s,5m/1m' (SIZE = SLIDE: tumbling); "
        "each is also a history tier (contracts/tiers.py).",
    )
    watermark_delay_s: int = Field(default=5, ge=0)
    allowed_lateness_s: int = Field(
        default=0, ge=0,
        description="Late events up to this much behind the watermark still update their windows (0 = off).",
    )
    window_percentiles: bool = Field(
        default=True,
        description="Compute p50/p95/p99 of value per window (a KLL sketch each); false leaves them out, for speed.",
    )
    breakdown_properties: str = Field(
        default="",
        pattern=r"^\s*([a-z0-9_]{1,64}\s*(,\s*[a-z0-9_]{1,64}\s*)*)?$",
        description="Comma-separated keys of `properties` to break windows down by, e.g. 'country,plan'; empty = none.",
    )
    breakdown_max_values: int = Field(
        default=50, ge=1, le=1000,
        description="Values of a breakdown property kept apart per window; the rest are folded into '(other)'.",
    )

    @property
    def breakdowns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name.strip() for name in self.breakdown_properties.split(",") if name.strip()))

    @field_validator("window_specs")
    @classmethod
    def _specs_parse(cls, value: str) -> str:
        parse_window_specs(value)
        return value

    @property
    def windows(self) -> list[WindowSpec]:
        return parse_window_specs(self.window_specs)


class HistorySettings(WindowSettings):
    """The history tiers: every window spec, kept in PostgreSQL for its own retention."""

    history_retention: str = Field(
        default=DEFAULT_HISTORY_RETENTION,
        description="SIZE=RETENTION per window size of WINDOW_SPECS (s, m, h or d, or 'forever'), e.g. "
        "'30s=7d,1h=730d'; a size left out is kept forever. The default applies to those of its sizes WINDOW_SPECS "
        "has.",
    )

    @field_validator("history_retention")
    @classmethod
    def _retention_matches_specs(cls, value: str, info: ValidationInfo) -> str:
        if "window_specs" in info.data:  # else WINDOW_SPECS itself is wrong, and says so
            specs = parse_window_specs(info.data["window_specs"])
            build_tiers(specs, retention_of(value, specs))
        return value

    @property
    def tiers(self) -> list[Tier]:
        """Finest first."""
        return build_tiers(self.windows, retention_of(self.history_retention, self.windows))


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def describe_validation_error(error: ValidationError) -> str:
    """One line naming each bad variable and what is wrong with it."""
    problems = []
    for item in error.errors():
        name = "_".join(str(part) for part in item["loc"]).upper() or "settings"
        problems.append(f"{name}: {item['msg']}")
    return "invalid configuration: " + "; ".join(problems)


def load_settings(settings_class: type[SettingsT]) -> SettingsT:
    """Load settings or stop the process with one clear line (exit code 2)."""
    try:
        return settings_class()
    except ValidationError as error:
        print(describe_validation_error(error), file=sys.stderr)
        raise SystemExit(2) from None


def to_env(settings: BaseSettings) -> dict[str, str]:
    """The env vars that reproduce `settings` in another process (field name upper-cased)."""
    env = {}
    for name, value in settings.model_dump().items():
        env[name.upper()] = str(value).lower() if isinstance(value, bool) else str(value)
    return env
