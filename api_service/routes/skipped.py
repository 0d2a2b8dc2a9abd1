"""The ledger of records the job skipped (late or invalid), per reason and event type."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator, BaseModel, Field

from api_service.deps import RealtimeDep
from contracts.events import now_ms
from contracts.redis_keys import SKIPPED_BUCKET_MS, SKIPPED_BUCKET_TTL_S
from contracts.windows import parse_duration_s

router = APIRouter(tags=["ledger"])


def _within_retention(text: str) -> str:
    if parse_duration_s(text) > SKIPPED_BUCKET_TTL_S:
        raise ValueError(f"at most {SKIPPED_BUCKET_TTL_S // 3600}h: the per-minute counts are kept that long")
    return text


# 1 s .. 48 h (SKIPPED_BUCKET_TTL_S), without leading zeros: the schema says exactly what is accepted.
SINCE_PATTERN = (
    r"^(?:(?:[1-9][0-9]{0,4}|1[0-6][0-9]{4}|17[01][0-9]{3}|172[0-7][0-9]{2}|172800)s"
    r"|(?:[1-9][0-9]{0,2}|1[0-9]{3}|2[0-7][0-9]{2}|28[0-7][0-9]|2880)m|(?:[1-9]|[1-3][0-9]|4[0-8])h)$"
)
Since = Annotated[
    str,
    Query(pattern=SINCE_PATTERN, description="How far back, 1s to 48h, e.g. 5m or 1h (counted in whole minutes)"),
    AfterValidator(_within_retention),
]


class SkippedEntry(BaseModel):
    reason: str = Field(description="late, bad_json, bad_event_type, bad_user_id, bad_value or bad_timestamp")
    event_type: str | None = Field(description="null when the record had no valid event type")
    count: int


class SkippedResponse(BaseModel):
    since: str = Field(description="The period asked for, e.g. 5m")
    since_ms: int = Field(description="Start of the first minute counted (epoch ms)")
    total: int
    entries: list[SkippedEntry] = Field(description="Largest count first")


@router.get("/metrics/skipped", summary="Records the job skipped, per reason and event type")
async def get_skipped(realtime: RealtimeDep, since: Since = "5m") -> SkippedResponse:
    """Late events (behind the watermark; they are also in the dead-letter topic `KAFKA_LATE_TOPIC`) and invalid
    records, as the job counted them per minute. Counts are at least once: a job recovering from a failure
    counts again the records it replays.

    Example: `{"since": "5m", "since_ms": 1719392400000, "total": 12,
    "entries": [{"reason": "late", "event_type": "click", "count": 12}]}`"""
    now = now_ms()
    start = now - parse_duration_s(since) * 1000
    start -= start % SKIPPED_BUCKET_MS
    counts = await realtime.skipped_between(start, now)
    entries = [SkippedEntry(reason=c.reason, event_type=c.event_type, count=c.count) for c in counts]
    return SkippedResponse(since=since, since_ms=start, total=sum(c.count for c in counts), entries=entries)
