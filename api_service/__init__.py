"""Insights API: window metrics from Redis and PostgreSQL, the live WebSocket relay and the dashboard."""
