"""Ingesting checked items: skip retried event_ids, publish the rest, report each item's fate.

A client event_id is remembered in one memory at a time: the one every process and replica shares
(`shared_dedup.py`, Redis) while Redis answers, else this process's own (`dedup.py`).

Plain dicts and column-wise passes: this runs for every event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from track_service.admission import EventTypeAdmission
from track_service.dedup import Attempt, RecentEventIds
from track_service.prometheus import TrackPrometheus
from track_service.publisher import EventPublisher
from track_service.records import EventRecord
from track_service.shared_dedup import PUBLISHED, SharedClaim, SharedEventIds
from track_service.validation import RequestRejected

_UNSET: dict[str, Any] = {}
_FAILED_WITH_EARLIER = "an earlier attempt with this event_id failed at the same time"


@dataclass
class _Claims:
    """What one request publishes itself, and the items whose outcome is another attempt's."""

    indexes: list[int]  # result slots of `records`
    records: list[EventRecord]
    shared: SharedClaim | None = None
    local: Attempt | None = None
    published_before: list[tuple[int, str]] = field(default_factory=list)  # (index, event_id): a duplicate
    repeated: list[tuple[int, str]] = field(default_factory=list)  # an id this request publishes once already
    elsewhere: list[tuple[int, str]] = field(default_factory=list)  # pending in another attempt (Redis)
    earlier: list[tuple[int, str, Attempt]] = field(default_factory=list)  # pending in this process's memory


class Ingestor:
    """Skips retried event_ids, publishes the rest and reports the fate of each checked item."""

    def __init__(
        self, publisher: EventPublisher, recent: RecentEventIds, prometheus: TrackPrometheus,
        admission: EventTypeAdmission | None = None, shared: SharedEventIds | None = None,
    ) -> None:
        self.publisher = publisher
        self.recent = recent
        self.shared = shared
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
        claims = await self._claim(indexes, records)
        accepted = failed = 0
        failed_ids: frozenset[str] = frozenset()
        published_elsewhere: list[bool] = []
        if claims.records or claims.elsewhere:
            # Shielded: if the client disconnects, the publication still completes and settles
            # the dedup memory, so concurrent retries waiting on it are answered.
            errors, published_elsewhere = await asyncio.shield(self._publish(claims))
            failed = len(errors) - errors.count(None)
            accepted = len(errors) - failed
            for index, record, error in zip(claims.indexes, claims.records, errors, strict=True):
                results[index] = _outcome(index, record[0], error, duplicate=False)
            if failed:
                failed_ids = frozenset(record[0] for record, error in zip(claims.records, errors, strict=True)
                                       if error is not None)
        elif claims.local is not None:
            self.recent.settle(claims.local, [])
        for index, event_id in claims.published_before:
            failed += self._duplicate(results, index, event_id, True)
        for index, event_id in claims.repeated:
            failed += self._duplicate(results, index, event_id, event_id not in failed_ids)
        for (index, event_id), published in zip(claims.elsewhere, published_elsewhere, strict=True):
            failed += self._duplicate(results, index, event_id, published)
        for index, event_id, attempt in claims.earlier:
            failed += self._duplicate(results, index, event_id, await attempt.published(event_id))
        self.prometheus.accepted.labels(endpoint).inc(accepted)
        self.prometheus.rejected.labels("kafka_unavailable").inc(failed)
        return results

    async def _claim(self, indexes: list[int], records: list[EventRecord]) -> _Claims:
        """Claim the client event_ids (only a client-chosen id can come back in a retry): in Redis while it
        answers, else in this process's memory. What was claimed before is set apart."""
        claims = _Claims(indexes, records)
        event_ids = [record[0] for record in records if record[3]]
        if not event_ids:
            return claims
        if self.shared is not None:
            claims.shared = await self.shared.claim(event_ids)
            if claims.shared.checked:
                if claims.shared.held:
                    self._set_apart_held(claims)
                return claims
            claims.shared = None
        claims.local = self.recent.attempt()
        earlier = self.recent.claim_all([record[0] if record[3] else None for record in records], claims.local)
        if earlier:
            claims.earlier = [(indexes[position], records[position][0], attempt)
                              for position, attempt in earlier.items()]
            claims.indexes, claims.records = _without(earlier, indexes, records)
        return claims

    def _set_apart_held(self, claims: _Claims) -> None:
        """Sort the ids some attempt held before this request's claim: published, repeated in this request, or
        pending elsewhere."""
        assert claims.shared is not None
        positions = [position for position, record in enumerate(claims.records) if record[3]]
        held = {positions[position]: value for position, value in claims.shared.held.items()}
        for position, value in held.items():
            item = (claims.indexes[position], claims.records[position][0])
            if value == PUBLISHED:
                claims.published_before.append(item)
            elif value == claims.shared.value.encode():
                claims.repeated.append(item)
            else:
                claims.elsewhere.append(item)
        claims.indexes, claims.records = _without(held, claims.indexes, claims.records)

    def _duplicate(self, results: list[dict[str, Any]], index: int, event_id: str, published: bool) -> int:
        """Report a retry by the outcome of the attempt it waited for; 1 if that failed."""
        results[index] = _outcome(index, event_id, None if published else _FAILED_WITH_EARLIER, duplicate=True)
        self.prometheus.duplicates.inc(published)
        return not published

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

    async def _publish(self, claims: _Claims) -> tuple[list[str | None], list[bool]]:
        """Publish the claimed records while awaiting the ids pending elsewhere; then settle the memory."""
        records = claims.records
        started = time.perf_counter()
        errors: list[str | None] = ["the service failed while publishing"] * len(records)
        published_elsewhere = [False] * len(claims.elsewhere)
        try:
            if claims.elsewhere:
                assert self.shared is not None
                errors, published_elsewhere = await asyncio.gather(
                    self.publisher.publish(records),
                    self.shared.published_elsewhere([event_id for _, event_id in claims.elsewhere]))
            else:
                errors = await self.publisher.publish(records)
        finally:
            self.prometheus.produce_latency.observe(time.perf_counter() - started)
            await self._settle(claims, errors)
        return errors, published_elsewhere

    async def _settle(self, claims: _Claims, errors: list[str | None]) -> None:
        failed = len(errors) != errors.count(None)
        if claims.local is not None:
            self.recent.settle(claims.local, [record[0] for record, error in zip(claims.records, errors, strict=True)
                                              if error is not None] if failed else [])
        if claims.shared is None or self.shared is None:
            return
        if not failed and not claims.shared.held:
            await self.shared.settle(claims.shared, None, [])  # the common case: every claimed id published
            return
        client = [(record[0], error is None) for record, error in zip(claims.records, errors, strict=True)
                  if record[3]]
        await self.shared.settle(claims.shared, [event_id for event_id, ok in client if ok],
                                 [event_id for event_id, ok in client if not ok])


def _without(
    positions: dict[int, Any], indexes: list[int], records: list[EventRecord]
) -> tuple[list[int], list[EventRecord]]:
    """The indexes and records but those at `positions`."""
    kept = [position for position in range(len(records)) if position not in positions]
    return [indexes[position] for position in kept], [records[position] for position in kept]


def _outcome(index: int, event_id: str, error: str | None, duplicate: bool) -> dict[str, Any]:
    if error is None:
        return {"index": index, "status": "accepted", "event_id": event_id, "duplicate": duplicate}
    return {"index": index, "status": "failed", "event_id": event_id, "error": error}
