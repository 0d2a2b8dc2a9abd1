"""Print the events in the topic as JSON lines (the seed's phase-1 consumer).

    python -m tools.tail [--topic NAME] [--from-beginning] [--max-messages N] [--idle-exit SECONDS]

Each line is the Event record as stored. Records that are not valid events go to stderr. `--topic events-late`
reads the dead-letter topic of late events (only committed records, as everywhere).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import uuid
from typing import TextIO

from confluent_kafka import Consumer, KafkaError
from pydantic import ValidationError

from contracts.events import Event
from contracts.settings import load_settings
from track_service.settings import Settings


def tail(
    settings: Settings, out: TextIO, from_beginning: bool, max_messages: int | None, idle_exit_s: float | None,
    group_id: str | None = None, topic: str | None = None,
) -> int:
    """Print events until `max_messages` were printed or nothing arrived for `idle_exit_s`; returns the count."""
    consumer = Consumer({
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        # A throwaway group: tailing never moves the offsets of a real consumer.
        "group.id": group_id or f"track-tail-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest" if from_beginning else "latest",
        "enable.auto.commit": False,
        # The job writes the late topic in transactions: never show records of an aborted one.
        "isolation.level": "read_committed",
        "log_level": 3,
    })
    consumer.subscribe([topic or settings.kafka_events_topic])
    printed = 0
    last_seen = time.monotonic()
    try:
        while max_messages is None or printed < max_messages:
            message = consumer.poll(0.5)
            if message is None:
                if idle_exit_s is not None and time.monotonic() - last_seen > idle_exit_s:
                    break
                continue
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    print(f"tail: {error.str()}", file=sys.stderr)
                continue
            last_seen = time.monotonic()
            raw = message.value() or b""
            try:
                event = Event.from_kafka_value(raw)
            except ValidationError:
                print(f"tail: not an event at partition {message.partition()} offset {message.offset()}: "
                      f"{raw[:200]!r}", file=sys.stderr)
                continue
            out.write(event.model_dump_json() + "\n")
            out.flush()
            printed += 1
    finally:
        consumer.close()
    return printed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.tail", description=__doc__.splitlines()[0])
    parser.add_argument("--topic", default=None, help="default KAFKA_EVENTS_TOPIC; e.g. events-late (KAFKA_LATE_TOPIC)")
    parser.add_argument("--from-beginning", action="store_true", help="start at the oldest event, not the newest")
    parser.add_argument("--max-messages", type=int, default=None, help="stop after printing this many")
    parser.add_argument("--idle-exit", type=float, default=None, metavar="SECONDS",
                        help="stop when nothing arrived for this long (default: run until Ctrl-C)")
    args = parser.parse_args(argv)
    settings = load_settings(Settings)
    with contextlib.suppress(KeyboardInterrupt):
        tail(settings, sys.stdout, args.from_beginning, args.max_messages, args.idle_exit, topic=args.topic)
    return 0


if __name__ == "__main__":
    sys.exit(main())
