"""Sync worker: drains closed windows from the Redis sorted sets into the PostgreSQL `metrics` table.

Run it with `python -m sync_service`; see docs/sync_service.md.
"""
