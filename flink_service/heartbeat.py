"""Watermark heartbeats: one record per partition of the events topic every few seconds.

Event time only advances with records. When traffic stops, the last windows would stay open
until the next event; a heartbeat stamped with the current time moves every partition's
watermark forward so those windows close on time. The job skips heartbeats when aggregating.

    python -m flink_service.heartbeat
"""

from __future__ import annotations

import logging

from confluent_kafka import Producer

from contracts.events import heartbeat_value, now_ms
from contracts.log_setup import setup_logging
from contracts.settings import load_settings
from contracts.waiting import stop_on_signals
from flink_service.settings import Settings

log = logging.getLogger("flink_service.heartbeat")


def send_heartbeats(producer: Producer, topic: str, timestamp_ms: int, timeout_s: float = 10) -> int:
    """Produce one heartbeat to every partition of `topic`; returns the number of partitions."""
    partitions = producer.list_topics(topic, timeout=timeout_s).topics[topic].partitions
    for partition in partitions:
        producer.produce(topic, heartbeat_value(timestamp_ms), partition=partition)
    remaining = producer.flush(timeout_s)
    if remaining:
        raise TimeoutError(f"{remaining} heartbeats to {topic} not acknowledged within {timeout_s}s")
    return len(partitions)


def main() -> int:
    settings = load_settings(Settings)
    setup_logging(settings.log_level)
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers, "acks": "all"})
    stop = stop_on_signals()
    log.info("heartbeats to %s every %ss", settings.kafka_events_topic, settings.heartbeat_interval_s)
    while not stop.is_set():
        try:
            send_heartbeats(producer, settings.kafka_events_topic, now_ms())
        except Exception as error:  # keep beating: Kafka may be restarting
            log.warning("heartbeat failed: %s", error)
        stop.wait(settings.heartbeat_interval_s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
