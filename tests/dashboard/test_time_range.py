"""The range picker: a range loads its history over HTTP (only what the page has not read yet) and keeps
streaming live; switching range or window size keeps the one WebSocket."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from playwright.sync_api import expect

from harness.windows import make_window
from tests.dashboard.dashboard_page import (
    SLIDE_MS,
    Dashboard,
    card,
    chart_attr,
    chart_range_s,
    legend_item,
    newest_closed_start,
    series,
    wait_settled,
)

HOUR_MS = 3_600_000


def utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def iso_ms(text: str) -> int:
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def test_range_switch_loads_history_and_keeps_live_updates(dashboard: Dashboard) -> None:
    base = newest_closed_start()
    # Checkouts from 6 h to 2 h ago, synced to PostgreSQL (1,440 windows: two history pages), and the last
    # 3 minutes still in Redis; a 1m window size beside the 30s one.
    old = [make_window("checkout", base - k * SLIDE_MS, count=50) for k in range(720, 2160)]
    dashboard.write_history(old)
    dashboard.write(series("checkout", base, [80] * 18))
    dashboard.write([make_window("checkout", base - k * SLIDE_MS, count=150, size_s=60) for k in range(6)])

    page = dashboard.open("?range=5m")
    # The axis is the picked range from the first paint: the last 5 minutes up to now.
    x_min, x_max = chart_range_s(page)
    assert x_max - x_min == 300 and abs(x_max - time.time()) < 30
    [first_load] = dashboard.api_requests("/metrics/history")
    assert abs(iso_ms(first_load["start_time"][0]) - (x_min * 1000)) < 5_000
    expect(card(page, "checkout").locator(".count")).to_have_text("80")
    only_recent = int(chart_attr(page, "points"))
    assert 18 <= only_recent <= 22  # the 18 windows and the zeros before them within the range

    page.click('[data-range="6h"]')
    expect(page.locator('[data-range="6h"]')).to_have_attribute("aria-pressed", "true")
    assert "range=6h" in page.url
    wait_settled(page)
    x_min, x_max = chart_range_s(page)
    assert x_max - x_min == 6 * 3600
    # Only the part not read yet, back to the start of the range: two pages, newest first.
    loads = dashboard.api_requests("/metrics/history")[1:]
    assert [load["end_time"] for load in loads[:1]] == [first_load["start_time"]], loads
    assert len(loads) == 2 and iso_ms(loads[1]["end_time"][0]) < iso_ms(loads[0]["end_time"][0])
    assert all(abs(iso_ms(load["start_time"][0]) - x_min * 1000) < 5_000 for load in loads)
    # The old windows (a few fall before the range's start) and the recent ones, with zeros between.
    assert 1400 + 18 < int(chart_attr(page, "points")) <= 1440 + 22

    # Live windows keep arriving in the new range.
    dashboard.write([make_window("checkout", base + SLIDE_MS, count=95)])
    expect(card(page, "checkout").locator(".count")).to_have_text("95")
    expect(legend_item(page, "checkout").locator(".value")).to_have_text("95")

    # Another window size and back: its own numbers, then live 30s windows still arrive on the same socket.
    page.select_option("#window-size", "1m")
    expect(card(page, "checkout").locator(".count")).to_have_text("150")
    assert "window_size=1m" in page.url
    page.select_option("#window-size", "30s")
    dashboard.write([make_window("checkout", base + 2 * SLIDE_MS, count=97)])
    expect(card(page, "checkout").locator(".count")).to_have_text("97")
    assert len(dashboard.sockets) == 1

    # Back to 5 minutes: everything is loaded already.
    history_requests = len(dashboard.api_requests("/metrics/history"))
    page.click('[data-range="5m"]')
    page.wait_for_function("() => chart.dataset.xMax - chart.dataset.xMin === 300")
    wait_settled(page)
    assert len(dashboard.api_requests("/metrics/history")) == history_requests


def test_custom_range_shows_a_past_hour(dashboard: Dashboard) -> None:
    base = newest_closed_start()
    dashboard.write_history([make_window("search", base - k * SLIDE_MS, count=20 + k % 7) for k in range(60, 1200)])
    dashboard.write(series("search", base, [9] * 6))
    to_ms = (base - 2 * HOUR_MS) // 60_000 * 60_000
    from_ms = to_ms - HOUR_MS
    query = f"?range=custom&from={utc(from_ms)}Z&to={utc(to_ms)}Z"

    page = dashboard.open(query)
    assert chart_range_s(page) == (from_ms / 1000, to_ms / 1000)
    expect(page.locator("#custom-range")).to_be_visible()
    expect(page.locator("#range-from")).to_have_value(utc(from_ms)[:16])  # whole minutes: no seconds shown
    # The hour's 360 windows, read with both bounds; the legend shows the value at the end of the range.
    expect(page.locator("#chart")).to_have_attribute("data-points", "360")
    [load] = [q for q in dashboard.api_requests("/metrics/history") if "end_time" in q]
    assert (iso_ms(load["start_time"][0]), iso_ms(load["end_time"][0])) == (from_ms, to_ms)
    last_k = (base - (to_ms - SLIDE_MS)) // SLIDE_MS
    expect(legend_item(page, "search").locator(".value")).to_have_text(str(20 + last_k % 7))
    # A live window does not move a range that ended in the past.
    dashboard.write([make_window("search", base + SLIDE_MS, count=11)])
    expect(card(page, "search").locator(".count")).to_have_text("11")
    assert chart_range_s(page) == (from_ms / 1000, to_ms / 1000)
