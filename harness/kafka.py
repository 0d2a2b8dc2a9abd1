"""Private Kafka topics and consumer groups: create, read, count, remove."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from confluent_kafka import OFFSET_BEGINNING, Consumer, ConsumerGroupTopicPartitions, Message, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from harness.infra import unique_name
from harness.waiting import wait_until


def create_topics(admin: AdminClient, names: Iterable[str], partitions: int, replication: int = 1,
                  config: dict[str, str] | None = None) -> None:
    topics = [NewTopic(name, num_partitions=partitions, replication_factor=replication, config=config or {})
              for name in names]
    for future in admin.create_topics(topics).values():
        future.result(timeout=30)


def delete_topics(admin: AdminClient, names: list[str]) -> None:
    """Delete the topics; one already gone is fine."""
    if names:
        for future in admin.delete_topics(names).values():
            with contextlib.suppress(Exception):
                future.result(timeout=30)


def delete_groups(admin: AdminClient, groups: list[str]) -> None:
    """Delete the consumer groups; a group that never committed does not exist, which is fine."""
    if groups:
        for future in admin.delete_consumer_groups(groups).values():
            with contextlib.suppress(Exception):
                future.result(timeout=30)


def end_offsets(bootstrap: str, topic: str, partitions: int = 3) -> int:
    """Total records ever written to the topic (sum of high watermarks)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("group"), "log_level": 3})
    try:
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
            for partition in range(partitions)
        )
    finally:
        consumer.close()


def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int = 3) -> int:
    """Total offsets the consumer group has committed on the topic (0 for a partition with none)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(partitions)])
    [future] = admin.list_consumer_group_offsets([request]).values()
    return sum(max(tp.offset, 0) for tp in future.result(timeout=10).topic_partitions)


def read_topic(bootstrap: str, topic: str, partitions: int = 3, timeout_s: float = 30) -> list[Message]:
    """Every record in the topic now, from the beginning of each partition."""
    expected = end_offsets(bootstrap, topic, partitions)
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": unique_name("group"), "enable.auto.commit": False,
        "log_level": 3,
    })
    consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in range(partitions)])
    records: list[Message] = []
    try:
        def caught_up() -> bool:
            for message in consumer.consume(500, timeout=0.5):
                if message.error() is None:
                    records.append(message)
            return len(records) >= expected

        wait_until(caught_up, timeout_s, f"{expected} records in {topic}", interval_s=0)
    finally:
        consumer.close()
    return records
