"""Pure logic of the window readers: merging history with unsynced windows."""

from __future__ import annotations

import json

from api_service.windows_store import Entry, answer_body, merge_newest_first, parse_entries
from contracts.window_results import MetricsEntry
from harness.windows import make_window


def test_merge_prefers_the_newer_source_and_keeps_newest_first() -> None:
    stored = [make_window("click", start, count=1) for start in (0, 10_000, 20_000)]
    unsynced = [make_window("click", start, count=2) for start in (20_000, 30_000)]

    merged = merge_newest_first(stored, unsynced, limit=10)

    assert [(w.window_start, w.count) for w in merged] == [(30_000, 2), (20_000, 2), (10_000, 1), (0, 1)]


def test_merge_applies_the_limit_after_merging() -> None:
    stored = [make_window("click", start) for start in (0, 10_000)]
    unsynced = [make_window("click", 20_000)]

    assert [w.window_start for w in merge_newest_first(stored, unsynced, limit=2)] == [20_000, 10_000]
    assert merge_newest_first([], [], limit=5) == []


def test_answer_entries_are_the_contract_s_entries_whatever_the_member() -> None:
    window = make_window("click", 10_000, count=3)
    old_writer = window.to_json().replace('"total_value":4.5', '"total_value":Infinity')

    entries = parse_entries([window.to_json(), old_writer, "not a window"])

    assert list(Entry.__struct_fields__) == list(MetricsEntry.__annotations__)
    assert json.loads(answer_body("click", "30s", entries)) == {
        "event_type": "click", "window_size": "30s",
        "entries": [window.to_entry(), {**window.to_entry(), "total_value": None}]}
