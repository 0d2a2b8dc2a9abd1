"""Ingesting checked items: skip retried event_ids, publish the rest, report each item's fate.

Plain dicts and column-wise passes: this runs for every event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from track_service.admission import EventTypeAdmission
from track_service.dedup import Attempt, RecentEventIds
from track_service.prometheus import TrackPrometheus
from track_service.publisher import EventPublisher
from track_service.records import EventRecord
from track_service.validation import RequestRejected

_UNSET: dict[str, Any] = {}


class Ingestor:
    """Skips retried event_ids, publishes the rest and reports the fate of each checked item."""

    def __init__(
        self, publisher: EventPublisher, recent: RecentEventIds, prometheus: TrackPrometheus,
        admission: EventTypeAdmission | None = None,
    ) -> None:
        self.publisher = publisher
        self.recent = recent
        self.prometheus = prometheus
        self.admission = admission

    async def ingest(self, checked: Sequence[EventRecord | RequestRejected], endpoint: str) -> list[dict[str, Any]]:
        """One result per checked item, shaped like `ItemResult` (plain dicts and column-wise passes:
        this runs for every event)."""
        results: list[dict[str, Any]] = [_UNSET] * len(checked)  # every slot is set below
        indexes: list[int] = []
        records: list[EventRecord] = []
        for index, item in enumerate(checked):
            if isinstance(item, RequestRejected):
                self.prometheus.rejected.labels(item.reason).inc()
                results[index] = {"index": index, "status": "rejected", "error": item.detail, "errors": item.errors}
            else:
                indexes.append(index)
                records.append(item)
        if self.admission is not None and records:
            refused = await self.admission.refused({record[4] for record in records})
            if refused:
                indexes, records = self._refuse(refused, indexes, records, results, endpoint)
        attempt = self.recent.attempt()
        # Only a client-chosen event_id can come back in a retry.
        earlier = self.recent.claim_all([record[0] if record[3] else None for record in records], attempt)
        retries = [(indexes[position], records[position][0], claim) for position, claim in earlier.items()]
        if earlier:
            indexes = [index for position, index in enumerate(indexes) if position not in earlier]
            records = [record for position, record in enumerate(records) if position not in earlier]
        accepted = failed = 0
        if records:
            # Shielded: if the client disconnects, the publication still completes and settles
            # the dedup memory, so concurrent retries waiting on it are answered.
            errors = await asyncio.shield(self._publish(records, attempt))
            failed = len(errors) - errors.count(None)
            accepted = len(errors) - failed
            for index, record, error in zip(indexes, records, errors, strict=True):
                results[index] = _outcome(index, record[0], error, duplicate=False)
        for index, event_id, claim in retries:
            published = await claim.published(event_id)
            error = None if published else "an earlier attempt with this event_id failed at the same time"
            results[index] = _outcome(index, event_id, error, duplicate=True)
            self.prometheus.duplicates.inc(published)
            failed += not published
        self.prometheus.accepted.labels(endpoint).inc(accepted)
        self.prometheus.rejected.labels("kafka_unavailable").inc(failed)
        return results

    def _refuse(
        self, refused: frozenset[str], indexes: list[int], records: list[EventRecord], results: list[dict[str, Any]],
        endpoint: str,
    ) -> tuple[list[int], list[EventRecord]]:
        """Mark the records of refused event types rejected (counted); the indexes and records left."""
        assert self.admission is not None
        kept_indexes, kept = [], []
        for index, record in zip(indexes, records, strict=True):
            if record[4] in refused:
                message = self.admission.rejection_message(record[4])
                field = "event_type" if endpoint == "track" else f"events[{index}].event_type"
                results[index] = {"index": index, "status": "rejected", "error": f"{field}: {message}",
                                  "errors": [{"field": field, "message": message}]}
            else:
                kept_indexes.append(index)
                kept.append(record)
        self.prometheus.rejected.labels("event_type_limit").inc(len(records) - len(kept))
        return kept_indexes, kept

    async def _publish(self, records: list[EventRecord], attempt: Attempt) -> list[str | None]:
        started = time.perf_counter()
        errors: list[str | None] = ["the service failed while publishing"] * len(records)
        try:
            errors = await self.publisher.publish(records)
        finally:
            self.prometheus.produce_latency.observe(time.perf_counter() - started)
            self.recent.settle(attempt, [record[0] for record, error in zip(records, errors, strict=True)
                                         if error is not None])
        return errors


def _outcome(index: int, event_id: str, error: str | None, duplicate: bool) -> dict[str, Any]:
    if error is None:
        return {"index": index, "status": "accepted", "event_id": event_id, "duplicate": duplicate}
    return {"index": index, "status": "failed", "event_id": event_id, "error": error}
