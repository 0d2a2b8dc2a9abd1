"""`python -m api_service`: serve the insights API, the WebSocket relay and the dashboard with uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from api_service.app import create_app
from api_service.settings import Settings
from contracts.settings import load_settings


def main() -> None:
    settings = load_settings(Settings)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level.lower(),
        ws_ping_interval=settings.ws_ping_interval_s,
        ws_ping_timeout=settings.ws_ping_timeout_s,
    )


if __name__ == "__main__":
    main()
