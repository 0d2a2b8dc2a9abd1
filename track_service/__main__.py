"""`python -m track_service`: create the events topic if missing, then serve HTTP with uvicorn."""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from confluent_kafka import KafkaException

from contracts.events_topic import KafkaUnavailable, ensure_topic
from contracts.heap import freeze_start_up
from contracts.log_setup import setup_logging
from contracts.settings import load_settings
from track_service.app import create_app
from track_service.settings import Settings

# uvicorn's options besides the address and the log level (bench/echo_app.py, the benchmark's reference,
# is served with the same). Access logs off: a log line per event costs more than ingesting it.
SERVER_OPTIONS: dict[str, Any] = {
    "access_log": False,
    "log_config": None,  # uvicorn's loggers go through setup_logging: one format
}


def main() -> int:
    settings = load_settings(Settings)
    setup_logging(settings.log_level)
    if settings.track_create_topic:
        # Done before serving so a missing Kafka is one clear line, not a startup traceback.
        try:
            ensure_topic(settings, settings.track_startup_timeout_s)
        except (KafkaUnavailable, KafkaException) as error:
            print(f"track_service: {error}", file=sys.stderr)
            return 1
    app = create_app(settings.model_copy(update={"track_create_topic": False}))
    freeze_start_up()
    uvicorn.run(app, host=settings.track_host, port=settings.track_port, log_level=settings.log_level.lower(),
                **SERVER_OPTIONS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
