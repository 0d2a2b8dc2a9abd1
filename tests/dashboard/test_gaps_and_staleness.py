"""A window that never came is a count of 0 (drawn down at zero, not across the gap); a type that went
quiet is greyed, says when it was last seen and moves out of the way."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from harness.windows import make_window
from tests.dashboard.dashboard_page import (
    SLIDE_MS,
    Dashboard,
    card,
    expect_cards,
    hover_chart_at,
    legend_item,
    newest_closed_start,
    series,
)

STALE = re.compile(r"\bstale\b")


def test_a_gap_is_drawn_as_zero(dashboard: Dashboard) -> None:
    base = newest_closed_start()
    # Signups: 6 windows, none for 12 (2 minutes), 6 again; clicks all along.
    before_gap = series("signup", base - 18 * SLIDE_MS, [40] * 6)
    after_gap = series("signup", base, [44] * 6)
    dashboard.write(before_gap + after_gap + series("click", base, [120] * 24))

    page = dashboard.open("?range=5m")
    expect(legend_item(page, "signup").locator(".value")).to_have_text("44")
    # Hovering anywhere in the gap reads 0 for signups (a plateau would read 40, a break nothing).
    for windows_ago in (17, 11, 6):
        hover_chart_at(page, base - windows_ago * SLIDE_MS)
        expect(legend_item(page, "signup").locator(".value")).to_have_text("0")
        expect(legend_item(page, "click").locator(".value")).to_have_text("120")
    hover_chart_at(page, base - 20 * SLIDE_MS)
    expect(legend_item(page, "signup").locator(".value")).to_have_text("40")
    page.mouse.move(5, 5)
    expect(page.locator("#legend .legend-time")).to_have_text("latest")
    dashboard.screenshot(page, "gap")

    # A window arriving late into the gap fills it.
    dashboard.write([make_window("signup", base - 11 * SLIDE_MS, count=7)])
    hover_chart_at(page, base - 11 * SLIDE_MS)
    expect(legend_item(page, "signup").locator(".value")).to_have_text("7")


def test_a_stale_series_is_marked_and_moved_out_of_the_way(dashboard: Dashboard) -> None:
    base = newest_closed_start()
    # legacy_export had the biggest windows but none for 8 minutes; click and purchase are live.
    dashboard.write(series("legacy_export", base - 48 * SLIDE_MS, [500] * 12))
    dashboard.write(series("click", base, [120] * 12) + series("purchase", base, [9] * 12))

    page = dashboard.open()
    expect_cards(page, ["click", "purchase", "legacy_export"])
    stale = card(page, "legacy_export")
    expect(stale).to_have_class(STALE)
    expect(stale.locator(".seen")).to_have_text("last seen 8 min ago")
    expect(card(page, "click")).not_to_have_class(STALE)
    expect(card(page, "click").locator(".seen")).to_have_text("")
    dashboard.screenshot(page, "stale")

    # With room for two, it leaves the cards and the chart for the quiet list, still saying when it was seen.
    page.fill("#top-n", "2")
    page.press("#top-n", "Enter")
    expect_cards(page, ["click", "purchase"])
    expect(page.locator('#quiet li[data-event-type="legacy_export"]')).to_contain_text("last seen 8 min ago")
    expect(page.locator("#chart")).to_have_attribute("data-series", "click,purchase")
    assert "top=2" in page.url

    # It comes back: live again, it leaves the quiet list.
    dashboard.write([make_window("legacy_export", base + SLIDE_MS, count=900)])
    expect_cards(page, ["legacy_export", "click", "_other"])
    expect(page.locator("#quiet")).to_be_hidden()
