"""Container healthchecks, standard library only (the images have Python but no curl).

    python container_health.py http URL             2xx from URL (a service's /health)
    python container_health.py flink-jobmanager URL  the JobManager's REST API answers /overview
    python container_health.py flink-taskmanager URL this container's TaskManager is registered
                                                     with the JobManager at URL
    python container_health.py kafka-topic HOST:PORT/TOPIC  the broker answers and TOPIC exists
                                                     (needs confluent-kafka: the service image)

Exit 0 healthy, 1 not (with one line saying why, shown by `docker inspect`).
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import urllib.request
from collections.abc import Iterable
from typing import Any

TIMEOUT_S = 4.0


def fetch_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
        return json.load(response)


def check_http(url: str) -> str:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
        if not 200 <= response.status < 300:
            raise RuntimeError(f"{url} answered {response.status}")
        return f"{url} answered {response.status}"


def check_jobmanager(rest_url: str) -> str:
    overview = fetch_json(rest_url.rstrip("/") + "/overview")
    return f"JobManager up, {overview.get('taskmanagers', 0)} TaskManager(s), {overview.get('slots-total', 0)} slots"


def registered_taskmanager(taskmanagers: dict[str, Any], addresses: Iterable[str]) -> str | None:
    """The id of the TaskManager (from GET /taskmanagers) running at one of `addresses`, if any.

    A TaskManager's id and RPC path carry its address ("172.18.0.6:6122-3f2a1b",
    "pekko.tcp://flink@172.18.0.6:6122/user/rpc/taskmanager_0"), so a scaled-out TaskManager
    finds itself among the others by its own container address.
    """
    wanted = [f"{address}:" for address in addresses]
    for entry in taskmanagers.get("taskmanagers", []):
        text = f"{entry.get('id', '')} {entry.get('path', '')}"
        if any(address in text for address in wanted):
            return str(entry.get("id"))
    return None


def own_addresses() -> set[str]:
    hostname = socket.gethostname()
    addresses = {hostname}
    with contextlib.suppress(OSError):
        addresses.update(str(info[4][0]) for info in socket.getaddrinfo(hostname, None, socket.AF_INET))
    return addresses


def check_taskmanager(rest_url: str) -> str:
    taskmanagers = fetch_json(rest_url.rstrip("/") + "/taskmanagers")
    addresses = own_addresses()
    found = registered_taskmanager(taskmanagers, addresses)
    if found is None:
        raise RuntimeError(f"no TaskManager at {sorted(addresses)} registered with {rest_url} yet")
    return f"TaskManager {found} registered"


def check_kafka_topic(target: str) -> str:
    bootstrap, _, topic = target.partition("/")
    if not topic:
        raise ValueError(f"want HOST:PORT/TOPIC, got {target!r}")
    from confluent_kafka import Producer

    metadata = Producer({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=TIMEOUT_S)
    found = metadata.topics.get(topic)
    if found is None or found.error is not None:
        raise RuntimeError(f"topic {topic!r} not available on {bootstrap}: {found.error if found else 'missing'}")
    return f"topic {topic!r} has {len(found.partitions)} partitions on {bootstrap}"


CHECKS = {"http": check_http, "flink-jobmanager": check_jobmanager, "flink-taskmanager": check_taskmanager,
          "kafka-topic": check_kafka_topic}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in CHECKS:
        print(f"usage: container_health.py {{{'|'.join(CHECKS)}}} URL", file=sys.stderr)
        return 2
    try:
        print(CHECKS[argv[1]](argv[2]))
    except Exception as error:  # any failure means unhealthy; say which
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
