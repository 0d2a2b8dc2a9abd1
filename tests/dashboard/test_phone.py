"""At 390x844 the page leads with the chart, then a compact list (one line per type, with its late count under
it when there is one); the legend is collapsed."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.dashboard.dashboard_page import PHONE, Dashboard, by_value, card, layout, newest_closed_start, series

TYPES = ["page_view", "click", "search", "add_to_cart", "checkout", "purchase", "signup", "share", "refund"]


def test_phone_leads_with_the_chart_and_a_compact_list(dashboard: Dashboard) -> None:
    base = newest_closed_start()
    for i, name in enumerate(TYPES):
        dashboard.write(series(name, base, [900 - 90 * i + k for k in range(30)]))
    dashboard.write([by_value(window, "country", "DE") for window in series("purchase", base, [40] * 30)])
    dashboard.count_skipped("late", "click", 12)

    page = dashboard.open(viewport=PHONE)
    expect(page.locator(".card")).to_have_count(9)  # top 8 and "other"
    chart = layout(page.locator(".chart-panel"))
    cards = layout(page.locator("#cards"))
    assert chart["y"] < cards["y"], "the chart comes first"
    assert chart["y"] + chart["height"] <= PHONE["height"], "the chart fits the first screen"
    expect(page.locator("#legend")).not_to_have_attribute("open", "")
    assert layout(page.locator("#legend"))["height"] < 40
    expect(page.locator("#split-controls")).to_be_visible()
    expect(card(page, "click").locator(".skipped")).to_have_text("12 late in the last 5 min")
    rows = {i: layout(page.locator(".card").nth(i)) for i in range(9)}
    late = rows.pop(1)  # click: its line and the late count under it
    assert all(row["height"] <= 48 for row in rows.values()) and late["height"] <= 64, rows
    assert cards["height"] < 470
    expect(page.locator(".card dl").first).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "nothing overflows sideways"
    dashboard.screenshot(page, "phone")

    # The legend opens on demand, with each line's latest value.
    page.locator("#legend summary").click()
    expect(page.locator('#legend button[data-series="page_view"] .value')).to_have_text("929")
