"""The view's state is in the URL: a reload, or the link opened by someone else, shows the same view."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.dashboard.dashboard_page import (
    Dashboard,
    card_types,
    expect_cards,
    legend_item,
    newest_closed_start,
    series,
    wait_settled,
)


def assert_view(page: Page, cards: list[str]) -> None:
    expect(page.locator('[data-range="6h"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#metric-select")).to_have_value("unique_users")
    expect(page.locator("#chart-metric-label")).to_have_text("Unique users")
    expect(page.locator("#top-n")).to_have_value("2")
    expect(page.locator("#search")).to_have_value("a")
    expect(legend_item(page, "search")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#chart")).to_have_attribute("data-hidden", "search,_other")
    expect_cards(page, cards)


def test_url_state_survives_a_reload_and_can_be_shared(dashboard: Dashboard) -> None:
    base = newest_closed_start()
    counts = {"page_view": 900, "search": 300, "add_to_cart": 80, "click": 500}
    dashboard.write([w for name, count in counts.items() for w in series(name, base, [count] * 6)])

    page = dashboard.open()
    page.click('[data-range="6h"]')
    page.select_option("#metric-select", "unique_users")
    page.fill("#top-n", "2")
    page.press("#top-n", "Enter")
    page.fill("#search", "a")  # page_view, search, add_to_cart
    expect_cards(page, ["page_view", "search", "_other"])
    legend_item(page, "search").click()
    cards = card_types(page)
    assert page.url.endswith("?range=6h&metric=unique_users&top=2&q=a&hide=_other%2Csearch"), page.url
    assert_view(page, cards)

    page.reload()
    wait_settled(page)
    assert_view(page, cards)

    shared = dashboard.open(page.url.split("/static/index.html", 1)[1])
    assert_view(shared, cards)
