"""The range picker: a range loads its history over HTTP at the resolution the API picks for it
(`resolution=auto`: a long range whole from a coarser tier), then only what the page has not read yet, and keeps
streaming live; switching range or window size keeps the one WebSocket."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from playwright.sync_api import expect

from harness.windows import make_window
from tests.dashboard.dashboard_page import (
    SLIDE_MS,
    WINDOW_MS,
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
    # Checkouts from 6 h to 2 h ago, synced to PostgreSQL (1,440 30s windows, and the 240 of the 1m tier), and
    # the last 3 minutes still in Redis, 30s/10s windows and the 1m tier's tumbling ones.
    old = [make_window("checkout", base - k * SLIDE_MS, count=50) for k in range(720, 2160)]
    minute = (base - 60_000) // 60_000 * 60_000  # the next 1m window, written later, starts before now too
    dashboard.write_history(old + [make_window("checkout", minute - k * 60_000, count=100, size_s=60)
                                   for k in range(120, 360)])
    dashboard.write(series("checkout", base, [80] * 18))
    dashboard.write([make_window("checkout", minute - k * 60_000, count=150, size_s=60) for k in range(3)])

    page = dashboard.open("?range=5m")
    # The axis is the picked range from the first paint: the last 5 minutes up to now.
    x_min, x_max = chart_range_s(page)
    assert x_max - x_min == 300 and abs(x_max - time.time()) < 30
    [first_load] = dashboard.api_requests("/metrics/history")
    assert abs(iso_ms(first_load["start_time"][0]) - (x_min * 1000)) < 5_000
    assert first_load["resolution"] == ["auto"] and first_load["window_size"] == ["30s"]
    expect(page.locator("#chart-window-size")).to_have_text("30s")
    expect(card(page, "checkout").locator(".count")).to_have_text("80")
    only_recent = int(chart_attr(page, "points"))
    assert 18 <= only_recent <= 22  # the 18 windows and the zeros before them within the range

    page.click('[data-range="6h"]')
    expect(page.locator('[data-range="6h"]')).to_have_attribute("aria-pressed", "true")
    assert "range=6h" in page.url
    wait_settled(page)
    x_min, x_max = chart_range_s(page)
    assert x_max - x_min == 6 * 3600
    # 6 hours of 30s/10s windows would be 2,160: the API answers the whole range from the 1m tier, in one request.
    [load] = dashboard.api_requests("/metrics/history")[1:]
    assert (load["resolution"], load["window_size"], load.get("end_time")) == (["auto"], ["30s"], None)
    assert abs(iso_ms(load["start_time"][0]) - x_min * 1000) < 5_000
    expect(page.locator("#chart-window-size")).to_have_text("1m")
    expect(page.locator("#cards-title")).to_contain_text("newest 30s window")  # the cards keep the picked size
    # The 1m windows from PostgreSQL (a few fall before the range's start) and Redis, with zeros between.
    assert 230 < int(chart_attr(page, "points")) <= 240 + 3 + 4

    # Live windows keep arriving in the new range: the cards' 30s ones, the chart's 1m ones.
    dashboard.write([make_window("checkout", base + SLIDE_MS, count=95),
                     make_window("checkout", minute + 60_000, count=190, size_s=60)])
    expect(card(page, "checkout").locator(".count")).to_have_text("95")
    expect(legend_item(page, "checkout").locator(".value")).to_have_text("190")

    # Another window size and back: its own numbers, then live 30s windows still arrive on the same socket.
    page.select_option("#window-size", "1m")
    expect(card(page, "checkout").locator(".count")).to_have_text("190")
    assert "window_size=1m" in page.url
    page.select_option("#window-size", "30s")
    dashboard.write([make_window("checkout", base + 2 * SLIDE_MS, count=97)])
    expect(card(page, "checkout").locator(".count")).to_have_text("97")
    assert len(dashboard.sockets) == 1

    # Back to 5 minutes: its resolution is known, and the 30s windows read at first are kept: at most the
    # seconds since the first load are read again, with the 30s size.
    history_requests = len(dashboard.api_requests("/metrics/history"))
    page.click('[data-range="5m"]')
    page.wait_for_function("() => chart.dataset.xMax - chart.dataset.xMin === 300")
    wait_settled(page)
    expect(page.locator("#chart-window-size")).to_have_text("30s")
    later = dashboard.api_requests("/metrics/history")[history_requests:]
    assert len(later) <= 1 and all(q["window_size"] == ["30s"] and "resolution" not in q for q in later), later


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


def test_long_ranges_load_whole_from_coarser_tiers(dashboard: Dashboard) -> None:
    """7 days and 24 hours: one request per shown type, answered from the 1h and the 5m tier, every window of the
    range on the chart (not the newest 8.3 h of 30s windows)."""
    now = newest_closed_start() + WINDOW_MS
    hour, five = now // HOUR_MS * HOUR_MS, now // 300_000 * 300_000
    hourly = [make_window(name, hour - k * HOUR_MS, count=600 + k, size_s=3600)
              for name in ("orders", "refunds") for k in range(1, 170)]
    five_minutes = [make_window(name, five - k * 300_000, count=50 + k % 5, size_s=300)
                    for name in ("orders", "refunds") for k in range(1, 290)]
    dashboard.write_history(hourly + five_minutes)
    newest = newest_closed_start()
    dashboard.write(series("orders", newest, [7] * 3) + series("refunds", newest, [2] * 3))

    page = dashboard.open("?range=7d")
    loads = dashboard.api_requests("/metrics/history")
    assert sorted(q["event_type"][0] for q in loads) == ["orders", "refunds"]
    assert all(q["resolution"] == ["auto"] and q["limit"] == ["1000"] for q in loads)
    expect(page.locator("#chart-window-size")).to_have_text("1h")
    # Every hour of the 7 days for both types: the windows starting in the range (167, or 168 on the hour), no
    # "history from" note.
    assert 2 * 167 <= int(chart_attr(page, "points")) <= 2 * 168
    expect(page.locator("#chart-note")).to_have_text("")
    expect(card(page, "orders").locator(".count")).to_have_text("7")  # the cards keep the live 30s windows

    page.click('[data-range="24h"]')
    wait_settled(page)
    expect(page.locator("#chart-window-size")).to_have_text("5m")
    assert 2 * 287 <= int(chart_attr(page, "points")) <= 2 * 288
    assert len(dashboard.api_requests("/metrics/history")) == len(loads) + 2
    dashboard.screenshot(page, "long-range")
