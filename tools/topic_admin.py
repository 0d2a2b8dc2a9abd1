"""Create the events topic from settings if it is missing (the seed's admin.py), idempotently.

    python -m tools.topic_admin        # or the old path: python -m track_service.admin

Partitions and replication come from KAFKA_TOPIC_PARTITIONS / KAFKA_TOPIC_REPLICATION; it waits up to
TRACK_STARTUP_TIMEOUT_S for Kafka, as track_service does at start.
"""

from __future__ import annotations

import sys

from confluent_kafka import KafkaException

from contracts.events_topic import KafkaUnavailable, ensure_topic
from contracts.log_setup import setup_logging
from contracts.settings import load_settings
from track_service.settings import Settings


def main() -> int:
    settings = load_settings(Settings)
    setup_logging(settings.log_level)
    for name in (settings.kafka_events_topic, settings.kafka_late_topic):
        try:
            created = ensure_topic(settings, settings.track_startup_timeout_s, name)
        except (KafkaUnavailable, KafkaException) as error:
            print(f"tools.topic_admin: {error}", file=sys.stderr)
            return 1
        print(f"topic {name}: {'created' if created else 'already exists'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
