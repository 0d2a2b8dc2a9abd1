"""112 event types: the top N by volume as cards and lines, an "other" aggregate of the rest, a search box,
per-series show/hide in the legend, and a bounded number of requests whatever the number of types."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.dashboard.dashboard_page import (
    Dashboard,
    card,
    chart_attr,
    expect_cards,
    legend_item,
    newest_closed_start,
    series,
    wait_settled,
)

TYPES = [f"type-{i:03d}" for i in range(112)]
# The page's bound at open (dashboard/src/api.js): window sizes, breakdown properties, the skipped records and
# the newest window of every type (/metrics/top), then top x (history + recent).
REQUESTS_AT_OPEN = 4 + 8 * 2


def volume(name: str) -> int:
    return 1000 - 8 * TYPES.index(name)


def api_request_count(dashboard: Dashboard) -> int:
    """Requests to the API, the periodic read of the skipped records counted once."""
    urls = [url for url in dashboard.requests if "/metrics" in url]
    return len(urls) - max(0, len(dashboard.api_requests("/metrics/skipped")) - 1)


def page_height(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollHeight"))


def test_top_n_with_other_and_search(dashboard: Dashboard) -> None:
    base = newest_closed_start()
    dashboard.write([w for name in TYPES for w in series(name, base, [volume(name)] * 12)])

    page = dashboard.open()
    expect_cards(page, [*TYPES[:8], "_other"])
    expect(page.locator("#cards-title")).to_have_text("Top 8 of 112 event types · newest 30s window")
    other = card(page, "_other")
    expect(other.locator("h3")).to_have_text("Other (104 types)")
    rest = sum(volume(name) for name in TYPES[8:])
    expect(other.locator(".count")).to_have_text(f"{rest / 1000:.1f}K")
    expect(other.locator(".count")).to_have_attribute("title", f"{rest:,}")
    expect(page.locator("#chart")).to_have_attribute("data-series", ",".join([*TYPES[:8], "_other"]))
    # "other" starts hidden from the plot (it would flatten the rest) but shows its value in the legend.
    expect(legend_item(page, "_other").locator(".value")).to_have_text(f"{rest / 1000:.1f}K")
    expect(page.locator("#chart")).to_have_attribute("data-hidden", "_other")
    assert page_height(page) < 1300, "the page should stay about one screen high, not 112 cards"
    dashboard.screenshot(page, "many-types")

    # Requests: history and recent windows for the 8 shown types only, not one per type.
    assert api_request_count(dashboard) <= REQUESTS_AT_OPEN
    for path in ("/metrics/history", "/metrics/realtime"):
        assert {q["event_type"][0] for q in dashboard.api_requests(path)} == set(TYPES[:8])

    # Search narrows the ranking to matching names; a match outside the top loads on demand.
    page.fill("#search", "type-05")
    expect_cards(page, [*TYPES[50:58], "_other"])
    expect(page.locator("#cards-title")).to_have_text("8 of 10 matching “type-05” · newest 30s window")
    expect(card(page, "_other").locator("h3")).to_have_text("Other (2 types)")
    page.fill("#search", "type-111")
    expect_cards(page, ["type-111"])
    wait_settled(page)
    assert "type-111" in {q["event_type"][0] for q in dashboard.api_requests("/metrics/history")}
    assert "q=type-111" in page.url
    page.fill("#search", "no-such-type")
    expect(page.locator("#cards")).to_have_text("No event type matches “no-such-type”.")

    # N is the user's: three cards and an "other" of 109.
    page.fill("#search", "")
    page.fill("#top-n", "3")
    page.press("#top-n", "Enter")
    expect_cards(page, [*TYPES[:3], "_other"])
    expect(card(page, "_other").locator("h3")).to_have_text("Other (109 types)")


def test_legend_shows_and_hides_series(dashboard: Dashboard) -> None:
    base = newest_closed_start()
    for name, count in {"click": 120, "purchase": 9, "signup": 4}.items():
        dashboard.write(series(name, base, [count] * 6))

    page = dashboard.open()
    expect(page.locator("#chart")).to_have_attribute("data-series", "click,purchase,signup")
    legend_item(page, "purchase").click()
    expect(legend_item(page, "purchase")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#chart")).to_have_attribute("data-hidden", "purchase")
    # Still a card and a legend entry with its latest value: hidden only from the plot.
    expect(legend_item(page, "purchase").locator(".value")).to_have_text("9")
    expect(card(page, "purchase")).to_be_visible()
    legend_item(page, "signup").click()
    expect(page.locator("#chart")).to_have_attribute("data-hidden", "purchase,signup")
    assert "hide=_other%2Cpurchase%2Csignup" in page.url
    legend_item(page, "purchase").click()
    expect(page.locator("#chart")).to_have_attribute("data-hidden", "signup")
    assert "hide=_other%2Csignup" in page.url
    assert chart_attr(page, "series") == "click,purchase,signup"
