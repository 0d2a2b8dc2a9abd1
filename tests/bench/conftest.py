"""The benchmark tests reuse the ingestion fixtures: a real track_service against a unique topic."""

from tests.track_service.conftest import events_topic, serve, service

__all__ = ["events_topic", "serve", "service"]
