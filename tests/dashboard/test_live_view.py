"""The desktop view of a realistic product: an hour of history, live updates, readable numbers and colours.
Its screenshot is the README's (test-output/dashboard/desktop.png -> docs/images/dashboard.png)."""

from __future__ import annotations

import math

from playwright.sync_api import expect

from contracts.window_results import WindowMetrics
from harness.windows import make_window
from tests.dashboard.dashboard_page import (
    SLIDE_MS,
    Dashboard,
    accent,
    card,
    card_types,
    expect_cards,
    legend_item,
    newest_closed_start,
    wait_settled,
    with_percentiles,
)

HOUR_WINDOWS = 360
RECENT_WINDOWS = 18  # the last 3 minutes are still in Redis, older ones synced to PostgreSQL
MEANS = {"page_view": 1180, "click": 420, "search": 260, "add_to_cart": 90, "checkout": 31, "purchase": 19, "share": 12}


def product_hour(base: int) -> tuple[list[WindowMetrics], list[WindowMetrics]]:
    """An hour of windows for a small product: (synced history, recent windows still in Redis)."""
    windows = []
    for name, mean in MEANS.items():
        for k in range(HOUR_WINDOWS):
            count = round(mean * (1 + 0.25 * math.sin(k / 23 + len(name)) + 0.06 * math.sin(k * 1.7)))
            value = 1_234_567_890_123.45 if name == "purchase" else -0.0 if name == "share" else count * 1.5
            window = make_window(name, base - k * SLIDE_MS, count=count, total_value=value)
            typical = 1.5 + (k % 7) / 10  # percentiles of value (purchases: their price)
            scale = 49 if name == "purchase" else 1
            windows.append(with_percentiles(window, scale * typical, scale * 3 * typical, scale * 5.2 * typical))
    # Signups pause for 15 windows (2.5 min) 20 minutes ago; errors stopped 8 minutes ago; exports 40.
    signups = [k for k in range(HOUR_WINDOWS) if not 120 <= k < 135]
    windows += [with_percentiles(make_window("signup", base - k * SLIDE_MS, count=8 + k % 4), 0, 1, 1) for k in signups]
    windows += [make_window("error", base - k * SLIDE_MS, count=3) for k in range(48, HOUR_WINDOWS)]
    windows += [make_window("export_report", base - k * SLIDE_MS, count=2) for k in range(240, HOUR_WINDOWS)]
    recent_from = base - RECENT_WINDOWS * SLIDE_MS
    return [w for w in windows if w.window_start <= recent_from], [w for w in windows if w.window_start > recent_from]


def test_desktop_view_shows_the_last_hour_then_live_updates(dashboard: Dashboard) -> None:
    base = newest_closed_start()
    synced, recent = product_hour(base)
    dashboard.write_history(synced)
    dashboard.write(recent)
    dashboard.count_skipped("late", "click", 12)
    dashboard.count_skipped("bad_json", None, 2)
    newest = {w.event_type: w for w in recent if w.window_start == base}
    before = {w.event_type: w for w in recent if w.window_start == base - SLIDE_MS}

    page = dashboard.open()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    # Cards by recent volume (mean of the newest six windows); the two that went quiet are out of the way.
    newest_six = [w for w in recent if w.window_start > base - 6 * SLIDE_MS]
    volume = {name: sum(w.count for w in newest_six if w.event_type == name) for name in newest}
    expect_cards(page, sorted(newest, key=lambda name: (-volume[name], name)))
    expect(page.locator("#cards-title")).to_have_text("Top 8 of 10 event types · newest 30s window")
    expect(page.locator("#quiet li")).to_have_count(2)
    expect(page.locator('#quiet li[data-event-type="error"]')).to_contain_text("last seen 8 min ago")
    expect(page.locator('#quiet li[data-event-type="export_report"]')).to_contain_text("last seen 40 min ago")

    # Compact numbers, exact on hover, no "-0"; the delta against the previous window.
    view = card(page, "page_view")
    expect(view.locator(".count")).to_have_text(f"{newest['page_view'].count / 1000:.1f}K")
    expect(view.locator(".count")).to_have_attribute("title", f"{newest['page_view'].count:,}")
    expect(card(page, "purchase").locator(".total-value")).to_have_text("1.2T")
    expect(card(page, "purchase").locator(".total-value")).to_have_attribute("title", "1,234,567,890,123.45")
    expect(card(page, "share").locator(".total-value")).to_have_text("0")
    assert "-0" not in page.locator("#cards").inner_text()
    expect(card(page, "purchase").locator(".p95")).to_have_text(f"{49 * 3 * (1.5 + (0 % 7) / 10):.1f}")
    expect(card(page, "click").locator(".skipped")).to_have_text("12 late in the last 5 min")
    expect(page.locator("#skipped-total")).to_have_text("Skipped in the last 5 min: 12 late · 2 invalid")
    change = newest["click"].count - before["click"].count
    percent = round(100 * change / before["click"].count)
    expect(card(page, "click").locator(".delta")).to_have_text(f"{change:+d} ({percent:+d}%)" if change else "0 (0%)")

    # The legend shows each line's latest value without hovering; colours are distinct and match the cards.
    expect(legend_item(page, "click").locator(".value")).to_have_text(str(newest["click"].count))
    assert "\N{EN DASH}" not in page.locator("#legend ul").inner_text()  # what a missing value shows
    colours = {name: accent(card(page, name)) for name in card_types(page)}
    assert len(set(colours.values())) == len(colours), colours
    assert all(accent(legend_item(page, name)) == colour for name, colour in colours.items())
    dashboard.screenshot(page, "desktop")

    # Live: a new window reaches its card, the chart's last point, the legend and the feed.
    points = int(page.locator("#chart").get_attribute("data-points") or 0)
    dashboard.write([make_window("click", base + SLIDE_MS, count=2_500, unique_users=1_204)])
    expect(card(page, "click").locator(".count")).to_have_text("2.5K")
    expect(card(page, "click").locator(".unique-users")).to_have_text("1.2K")
    expect(legend_item(page, "click").locator(".value")).to_have_text("2.5K")
    expect(page.locator("#feed li").first.locator(".badge")).to_have_text("click")
    assert int(page.locator("#chart").get_attribute("data-points") or 0) > points

    # Colours are the type's own: the same after a reload.
    page.reload()
    wait_settled(page)  # ranked with the whole snapshot in: colours are assigned over the shown types
    expect(card(page, "click").locator(".count")).to_have_text("2.5K")
    assert {name: accent(card(page, name)) for name in colours} == colours
