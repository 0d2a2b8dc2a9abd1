"""One worker in-process against the real Redis and PostgreSQL: what a cycle writes, deletes and keeps."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator

import pytest
import redis

from contracts.events import now_ms
from contracts.redis_keys import RedisKeys, upsert_windows
from harness.infra import Infra
from harness.stores import read_rows
from harness.windows import make_window
from sync_service.settings import Settings
from sync_service.worker import SyncWorker
from tests.sync_service.fixtures import PAST_MS, assert_synced_exactly_once, closed_windows, open_windows, redis_windows


@pytest.fixture
async def worker(sync_settings: Settings) -> AsyncIterator[SyncWorker]:
    sync_worker = SyncWorker(sync_settings)
    yield sync_worker
    await sync_worker.close()


async def test_cycle_syncs_closed_windows_in_batches_and_keeps_open_ones(
    worker: SyncWorker, infra: Infra, pg_schema: str, redis_client: redis.Redis, redis_keys: RedisKeys
) -> None:
    closed = closed_windows(10)
    still_open = open_windows()
    upsert_windows(redis_client, redis_keys, closed + still_open)

    report = await worker.run_cycle()

    assert (report.keys, report.synced, report.stale, report.invalid) == (4, 40, 0, 0)
    assert report.batches == 6  # 40 windows in batches of 7
    assert_synced_exactly_once(await read_rows(infra.postgres_dsn, pg_schema), closed)
    assert redis_windows(redis_client, redis_keys) == {w.to_json() for w in still_open}
    assert worker.prometheus.rows_synced._value.get() == 40

    again = await worker.run_cycle()
    assert (again.synced, again.read) == (0, 0)
    assert_synced_exactly_once(await read_rows(infra.postgres_dsn, pg_schema), closed)


async def test_window_rewritten_after_its_sync_replaces_the_row(
    worker: SyncWorker, infra: Infra, pg_schema: str, redis_client: redis.Redis, redis_keys: RedisKeys
) -> None:
    closed = closed_windows(2)
    upsert_windows(redis_client, redis_keys, closed)
    await worker.run_cycle()
    late = make_window("click", PAST_MS, count=501)
    upsert_windows(redis_client, redis_keys, [late])

    assert (await worker.run_cycle()).synced == 1

    expected = [late if w.key == late.key else w for w in closed]
    assert_synced_exactly_once(await read_rows(infra.postgres_dsn, pg_schema), expected)
    assert redis_windows(redis_client, redis_keys) == set()


@pytest.mark.parametrize("point", ["after_read", "mid_batch", "after_commit", "mid_delete"])
async def test_entry_rewritten_between_read_and_delete_is_neither_lost_nor_stale(
    point: str, sync_settings: Settings, infra: Infra, pg_schema: str, redis_client: redis.Redis,
    redis_keys: RedisKeys,
) -> None:
    # 3 windows per key, batches of 7: the first batch holds click:30s x3, click:5m x3, view:30s x1,
    # so the target (in the second key) is read in batch 1 and, at mid_delete, not yet deleted.
    closed = closed_windows(3)
    upsert_windows(redis_client, redis_keys, closed)
    target = make_window("click", PAST_MS, count=778, size_s=300)
    rewritten = False

    async def rewrite_once(reached: str) -> None:
        nonlocal rewritten
        if reached == point and not rewritten:
            rewritten = True
            upsert_windows(redis_client, redis_keys, [target])

    worker = SyncWorker(sync_settings, hook=rewrite_once)
    try:
        first = await worker.run_cycle()
        assert rewritten
        assert (first.synced, first.stale) == (11, 1)
        # PostgreSQL holds the value read; Redis still holds the rewrite, for the next cycle.
        old = next(w for w in closed if w.key == target.key)
        assert old in await read_rows(infra.postgres_dsn, pg_schema)
        assert redis_windows(redis_client, redis_keys) == {target.to_json()}

        second = await worker.run_cycle()
        assert (second.synced, second.stale) == (1, 0)
    finally:
        await worker.close()
    expected = [target if w.key == target.key else w for w in closed]
    assert_synced_exactly_once(await read_rows(infra.postgres_dsn, pg_schema), expected)
    assert redis_windows(redis_client, redis_keys) == set()


async def test_invalid_member_stays_in_redis_and_does_not_block_the_rest(
    worker: SyncWorker, infra: Infra, pg_schema: str, redis_client: redis.Redis, redis_keys: RedisKeys
) -> None:
    closed = closed_windows(2)
    upsert_windows(redis_client, redis_keys, closed)
    redis_client.zadd(redis_keys.windows("click", "30s"), {"not a window": PAST_MS - 10_000})

    report = await worker.run_cycle()

    assert (report.synced, report.invalid) == (8, 1)
    assert report.lag_s > 0  # the invalid member is the oldest closed entry left
    assert_synced_exactly_once(await read_rows(infra.postgres_dsn, pg_schema), closed)
    assert redis_windows(redis_client, redis_keys) == {"not a window"}


async def test_a_member_with_a_non_finite_sum_is_synced_not_stuck(
    worker: SyncWorker, infra: Infra, pg_schema: str, redis_client: redis.Redis, redis_keys: RedisKeys
) -> None:
    """Left by a writer older than the value bound: Infinity and NaN tokens (null since) reach PostgreSQL."""
    fields = make_window("click", PAST_MS).model_dump()
    old = [json.dumps({**fields, "window_start": PAST_MS + k * 10_000, "window_end": PAST_MS + k * 10_000 + 30_000,
                       "total_value": total}, separators=(",", ":"))
           for k, total in enumerate((float("inf"), float("-inf"), float("nan")))]
    old.append(make_window("click", PAST_MS + 30_000).model_copy(update={"total_value": math.nan}).to_json())
    scored = {member: PAST_MS + k * 10_000 for k, member in enumerate(old)}
    redis_client.zadd(redis_keys.windows("click", "30s"), scored)

    report = await worker.run_cycle()

    assert (report.synced, report.invalid) == (4, 0)
    totals = [row.total_value for row in sorted(await read_rows(infra.postgres_dsn, pg_schema),
                                                key=lambda row: row.window_start)]
    assert totals[:2] == [math.inf, -math.inf] and all(math.isnan(total) for total in totals[2:])
    assert redis_windows(redis_client, redis_keys) == set()


async def test_breakdown_windows_are_synced_beside_their_event_types_windows(
    worker: SyncWorker, infra: Infra, pg_schema: str, redis_client: redis.Redis, redis_keys: RedisKeys
) -> None:
    plain = make_window("click", PAST_MS, count=5)
    per_country = [plain.model_copy(update={"count": count, "breakdown": "country", "breakdown_value": country})
                   for country, count in (("DE", 3), ("FR", 1), ("(other)", 1))]
    upsert_windows(redis_client, redis_keys, [plain, *per_country])

    report = await worker.run_cycle()

    assert (report.keys, report.synced) == (4, 4)
    rows = await read_rows(infra.postgres_dsn, pg_schema)
    assert sorted(rows, key=lambda w: w.identity) == sorted([plain, *per_country], key=lambda w: w.identity)
    assert redis_windows(redis_client, redis_keys) == set()
    assert list(redis_client.scan_iter(match=f"{redis_keys.breakdown_head}*")) == []


async def test_with_allowed_lateness_a_window_waits_until_it_can_no_longer_be_corrected(
    sync_settings: Settings, infra: Infra, pg_schema: str, redis_client: redis.Redis, redis_keys: RedisKeys
) -> None:
    now = now_ms()
    ended_40s_ago = make_window("click", now - 70_000, count=3)
    ended_2min_ago = make_window("click", now - 150_000, count=4)
    upsert_windows(redis_client, redis_keys, [ended_40s_ago, ended_2min_ago])
    worker = SyncWorker(sync_settings.model_copy(update={"allowed_lateness_s": 60}))
    try:
        assert (await worker.run_cycle()).synced == 1  # grace 10 s + lateness 60 s: only the older one
    finally:
        await worker.close()
    assert [row.key for row in await read_rows(infra.postgres_dsn, pg_schema)] == [ended_2min_ago.key]
    assert redis_windows(redis_client, redis_keys) == {ended_40s_ago.to_json()}
