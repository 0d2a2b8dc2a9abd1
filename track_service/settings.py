"""Settings of the ingestion service (env vars, `.env`); see docs/track_service.md for each one."""

from __future__ import annotations

from pydantic import Field, field_validator

from contracts.settings import KafkaSettings, RedisSettings, RegistrySettings


class Settings(KafkaSettings, RedisSettings, RegistrySettings):
    track_host: str = Field(default="0.0.0.0", description="Interface uvicorn binds to.")
    track_port: int = Field(default=8001, ge=1, le=65535, description="HTTP port (the insights API keeps 8000).")
    track_api_keys: str = Field(
        default="", description="Comma-separated write keys; empty disables the check."
    )
    track_max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body read, chunked bodies included (413 above)."
    )
    track_max_batch_events: int = Field(default=1000, ge=1, description="Most events in one /track/batch.")
    track_max_json_depth: int = Field(
        default=16, ge=4, description="Deepest nesting of objects/arrays in a request body (400 above)."
    )
    track_delivery_timeout_ms: int = Field(
        default=5000, ge=100, description="How long an event may wait for Kafka's ack before the answer is 503."
    )
    # 0, not librdkafka's 5: every answer waits for its ack, so linger is added to each request's latency, and
    # concurrent /track requests are already produced as one batch (coalescer.py), a /track/batch request as
    # one produce_batch. Issue 20: 1 ms -> 0 took /track from 0.44 to 0.58 of the echo, the batch path unchanged.
    track_linger_ms: int = Field(default=0, ge=0, description="Producer linger: how long to wait to fill a batch.")
    track_producer_queue_events: int = Field(
        default=100_000, ge=1,
        description="Most events held for Kafka at once (memory bound); past it requests wait for room.",
    )
    track_retry_after_s: int = Field(default=5, ge=1, description="Retry-After sent with 503.")
    track_dedup_horizon_s: int = Field(
        default=600, ge=0,
        description="A retried event_id within this window is acknowledged, not republished (0: no dedup).",
    )
    track_dedup_shared: bool = Field(
        default=False,
        description="Remember event_ids in Redis for every replica and across restarts (set it where several "
        "replicas run: the scaled Compose profile does); false: each process remembers its own. Costs a Redis "
        "round trip per request and about a third of the batch throughput (docs/track_service.md).",
    )
    track_dedup_max_entries: int = Field(
        default=1_000_000, ge=0, description="Bound on remembered event_ids (oldest forgotten first)."
    )
    track_max_event_types: int = Field(
        default=1000, ge=0,
        description="Most live event types across every replica (422 for a new type past it); 0 = no limit, no Redis.",
    )
    track_admission_cache_s: float = Field(
        default=10, gt=0, description="How long a replica trusts an event type's admission before asking Redis again.",
    )
    track_create_topic: bool = Field(default=True, description="Create the events topic at start when missing.")
    track_startup_timeout_s: float = Field(
        default=60, gt=0, description="How long the service waits for Kafka at start before giving up."
    )

    @field_validator("track_api_keys")
    @classmethod
    def _keys_not_blank(cls, value: str) -> str:
        if value.strip() and not all(key.strip() for key in value.split(",")):
            raise ValueError("comma-separated keys must not be blank, e.g. 'key-one,key-two'")
        return value

    @property
    def api_keys(self) -> frozenset[str]:
        return frozenset(key.strip() for key in self.track_api_keys.split(",") if key.strip())

    @property
    def publication_bound_s(self) -> float:
        """The longest one publication can take: waiting for room in the producer queue, then for the ack
        (each up to TRACK_DELIVERY_TIMEOUT_MS), plus a margin; the shared dedup's claims live this long."""
        return 2 * self.track_delivery_timeout_ms / 1000 + 5

    @property
    def retry_after_header(self) -> dict[str, str]:
        """Sent with every 503: when to try again."""
        return {"Retry-After": str(self.track_retry_after_s)}

    def producer_config(self) -> dict[str, str | int | bool]:
        """librdkafka settings for the durable producer."""
        return {
            "bootstrap.servers": self.kafka_bootstrap_servers,
            # Idempotence gives acks=all, bounded in-flight requests and broker-side dedup of the
            # producer's own retries, so an internal retry never duplicates or reorders an event.
            # https://github.com/confluentinc/librdkafka/blob/master/INTRODUCTION.md#idempotent-producer
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": self.track_linger_ms,
            "queue.buffering.max.messages": self.track_producer_queue_events,
            # The bound on how long a request waits for the ack: the event is failed (503) after it.
            "message.timeout.ms": self.track_delivery_timeout_ms,
            "compression.type": "lz4",
            # Small produce requests go out at once: with Nagle a request sent while another awaits its TCP ack
            # waits for it, which every answer (it waits for its Kafka ack) would pay. Issue 20.
            "socket.nagle.disable": True,
            # Reconnect within a second or two of Kafka coming back instead of librdkafka's 10 s.
            "reconnect.backoff.max.ms": 2000,
            "log_level": 3,
        }
