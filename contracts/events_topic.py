"""The events topic and the late (dead-letter) topic: created from settings if missing, idempotently.

track_service creates the events topic at start, the job's submit command the late topic;
`python -m tools.topic_admin` creates both.
"""

from __future__ import annotations

import logging
import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from contracts.settings import KafkaSettings
from contracts.waiting import describe, waiting

log = logging.getLogger(__name__)


class KafkaUnavailable(RuntimeError):
    """Kafka did not answer within the allowed time."""


class _NoBroker(Exception):
    """The metadata answer named no broker."""


def wait_for_kafka(admin: AdminClient, bootstrap: str, timeout_s: float) -> None:
    """Block until a broker answers a metadata request, with bounded backoff."""
    try:
        for attempt in waiting(f"Kafka at {bootstrap}", log, (KafkaException, _NoBroker), timeout_s=timeout_s):
            with attempt:
                remaining = timeout_s - (time.monotonic() - attempt.retry_state.start_time)
                if not admin.list_topics(timeout=min(5.0, max(0.5, remaining))).brokers:
                    raise _NoBroker("no broker in the metadata")
    except (KafkaException, _NoBroker) as error:
        raise KafkaUnavailable(
            f"Kafka at {bootstrap} did not answer within {timeout_s:.0f}s ({describe(error)}): "
            "start it (make dev) or fix KAFKA_BOOTSTRAP_SERVERS"
        ) from None


def ensure_topic(settings: KafkaSettings, timeout_s: float, name: str | None = None) -> bool:
    """Create the events topic (or topic `name`, with the same partitions and replication) unless it exists,
    waiting up to `timeout_s` for Kafka; True if this call created it."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers, "log_level": 3})
    wait_for_kafka(admin, settings.kafka_bootstrap_servers, timeout_s)
    name = name or settings.kafka_events_topic
    if name in admin.list_topics(timeout=10).topics:
        return False
    topic = NewTopic(
        name,
        num_partitions=settings.kafka_topic_partitions,
        replication_factor=settings.kafka_topic_replication,
    )
    try:
        admin.create_topics([topic], operation_timeout=30)[name].result(timeout=30)
    except KafkaException as error:
        # Another instance created it between our check and our request: that is success.
        if error.args and error.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return False
        raise
    log.info(
        "created topic %s (%d partitions, replication %d)",
        name, settings.kafka_topic_partitions, settings.kafka_topic_replication,
    )
    return True
