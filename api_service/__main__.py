"""`python -m api_service`: serve the insights API, the WebSocket relay and the dashboard with uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from api_service.app import create_app
from api_service.settings import Settings
from contracts.heap import freeze_start_up
from contracts.log_setup import setup_logging
from contracts.settings import load_settings


def main() -> None:
    settings = load_settings(Settings)
    setup_logging(settings.log_level)
    app = create_app(settings)
    freeze_start_up()
    uvicorn.run(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's loggers go through setup_logging: one format
        # An access line per request only when INFO lines are written at all: uvicorn builds its arguments
        # before the level filter drops them (a measured 7% of a /metrics/realtime answer).
        access_log=logging.getLogger("uvicorn.access").isEnabledFor(logging.INFO),
        ws_ping_interval=settings.ws_ping_interval_s,
        ws_ping_timeout=settings.ws_ping_timeout_s,
    )


if __name__ == "__main__":
    main()
