"""p50, p95 and p99 of value: on each card, and as chart metrics. A window without events has no percentile,
so a gap is a break in the line (not a zero, as it is for counts), and percentiles of different types do not
add up into an "other" line."""

from __future__ import annotations

from playwright.sync_api import expect

from harness.windows import make_window
from tests.dashboard.dashboard_page import (
    SLIDE_MS,
    Dashboard,
    card,
    hover_chart_at,
    legend_item,
    newest_closed_start,
    wait_settled,
    with_percentiles,
)

NO_VALUE = "\N{EN DASH}"  # what the legend shows where a line has no value


def test_percentile_metrics_on_cards_and_chart(dashboard: Dashboard) -> None:
    base = newest_closed_start()

    def at(k: int) -> int:  # window k slides before the newest
        return base - k * SLIDE_MS

    # Purchases: 6 windows from before the job kept percentiles, none for 6 slides, then 12 with them.
    purchases = [make_window("purchase", at(k), count=30) for k in range(18, 24)]
    purchases += [with_percentiles(make_window("purchase", at(k), count=30), 20 - k, 60 - k, 95.5 - k)
                  for k in range(12)]  # fmt: skip
    clicks = [with_percentiles(make_window("click", at(k), count=120), 1, 2, 3 + k) for k in range(24)]
    shares = [with_percentiles(make_window("share", at(k), count=5), 0.5, 0.75, 0.9) for k in range(24)]
    dashboard.write(purchases + clicks + shares)

    page = dashboard.open("?range=5m&top=2")
    newest = card(page, "purchase")
    expect(newest.locator(".p50")).to_have_text("20")
    expect(newest.locator(".p95")).to_have_text("60")
    expect(newest.locator(".p99")).to_have_text("95.5")
    expect(newest.locator(".percentiles")).to_be_visible()
    expect(card(page, "_other").locator(".percentiles")).to_be_hidden()  # a sum of types has none

    # Counts: the gap is zeros, the old windows count, and "other" (shares) is a line.
    expect(page.locator("#chart")).to_have_attribute("data-series", "click,purchase,_other")
    hover_chart_at(page, at(14))
    expect(legend_item(page, "purchase").locator(".value")).to_have_text("0")
    page.mouse.move(5, 5)

    expect(page.locator("#metric-select option[value=p95]")).to_have_js_property("hidden", False)
    page.select_option("#metric-select", "p95")
    expect(page.locator("#chart-metric-label")).to_have_text("p95 of value")
    assert "metric=p95" in page.url
    expect(page.locator("#chart")).to_have_attribute("data-series", "click,purchase")
    expect(legend_item(page, "purchase").locator(".value")).to_have_text("60")
    expect(legend_item(page, "click").locator(".value")).to_have_text("2")
    # The gap and the windows from before percentiles are breaks in the line, not zeros.
    for k in (14, 20):
        hover_chart_at(page, at(k))
        expect(legend_item(page, "purchase").locator(".value")).to_have_text(NO_VALUE)
        expect(legend_item(page, "click").locator(".value")).to_have_text("2")
    hover_chart_at(page, at(5))
    expect(legend_item(page, "purchase").locator(".value")).to_have_text("55")
    page.mouse.move(5, 5)
    dashboard.screenshot(page, "percentiles")

    # Live: a new window's percentiles reach the card and the line.
    dashboard.write([with_percentiles(make_window("purchase", at(-1), count=33), 21, 77.5, 140)])
    expect(legend_item(page, "purchase").locator(".value")).to_have_text("77.5")
    expect(newest.locator(".p95")).to_have_text("77.5")
    expect(newest.locator(".p99")).to_have_text("140")

    page.reload()
    wait_settled(page)
    expect(page.locator("#metric-select")).to_have_value("p95")
    expect(legend_item(page, "purchase").locator(".value")).to_have_text("77.5")


def test_percentiles_are_offered_once_a_window_has_them(dashboard: Dashboard) -> None:
    """WINDOW_PERCENTILES=false: the job writes none, so the chart does not offer them until a window has some."""
    base = newest_closed_start()
    dashboard.write([make_window("click", base - k * SLIDE_MS, count=10 + k) for k in range(6)])
    page = dashboard.open("?range=5m")
    expect(card(page, "click").locator(".percentiles")).to_be_hidden()
    for name in ("p50", "p95", "p99"):
        expect(page.locator(f"#metric-select option[value={name}]")).to_have_js_property("hidden", True)
    expect(page.locator("#metric-select option[value=unique_users]")).to_have_js_property("hidden", False)

    dashboard.write([with_percentiles(make_window("click", base + SLIDE_MS, count=9), 1, 2, 3)])
    expect(page.locator("#metric-select option[value=p95]")).to_have_js_property("hidden", False)
