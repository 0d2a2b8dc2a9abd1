"""Split the chart by a breakdown property: one line per value of one event type, its history (PostgreSQL and
Redis) first, then live over a WebSocket of its own; the split is in the URL."""

from __future__ import annotations

from playwright.sync_api import expect

from contracts.window_results import WindowMetrics
from harness.windows import make_window
from tests.dashboard.dashboard_page import (
    SLIDE_MS,
    Dashboard,
    by_value,
    card,
    chart_attr,
    hover_chart_at,
    legend_item,
    newest_closed_start,
    wait_settled,
)

WINDOWS = 60  # ten minutes; the newest RECENT still in Redis, the others synced to PostgreSQL
RECENT = 12
COUNTRIES = {"DE": 20, "US": 12, "FR": 6, "(none)": 3, "(other)": 1}  # purchases per window
PLANS = {"pro": 30, "free": 12}
CLICK_COUNTRIES = {"FR": 25, "DE": 15}
OLD_K, OLD_DE = 40, 50  # one synced window with a count of its own


def windows_of(event_type: str, base: int, counts: dict[str, int], breakdown: str) -> list[WindowMetrics]:
    found = []
    for k in range(WINDOWS):
        for value, count in counts.items():
            n = OLD_DE if (event_type, value, k) == ("purchase", "DE", OLD_K) else count
            found.append(by_value(make_window(event_type, base - k * SLIDE_MS, count=n), breakdown, value))
    return found


def test_a_chart_split_by_a_property_loads_history_then_updates_live(dashboard: Dashboard) -> None:
    base = newest_closed_start()
    windows = [make_window(name, base - k * SLIDE_MS, count=count) for k in range(WINDOWS)
               for name, count in (("page_view", 500), ("purchase", 42), ("click", 40))]  # fmt: skip
    windows += windows_of("purchase", base, COUNTRIES, "country") + windows_of("purchase", base, PLANS, "plan")
    windows += windows_of("click", base, CLICK_COUNTRIES, "country")
    recent_from = base - RECENT * SLIDE_MS
    dashboard.write_history([w for w in windows if w.window_start <= recent_from])
    dashboard.write([w for w in windows if w.window_start > recent_from])

    page = dashboard.open()
    options = page.locator("#breakdown-select option")
    expect(options).to_have_text(["nothing", "country", "plan"])
    expect(page.locator("#breakdown-of-control")).to_be_hidden()

    # Split by country: the biggest shown type that has it, one line per value, most events first.
    page.select_option("#breakdown-select", "country")
    expect(page.locator("#breakdown-of")).to_have_value("purchase")
    expect(page.locator("#breakdown-of option")).to_have_text(["click", "purchase"])
    assert page.url.endswith("?breakdown=country&breakdown_of=purchase"), page.url
    wait_settled(page)
    expect(page.locator("#chart")).to_have_attribute("data-series", ",".join(f"={value}" for value in COUNTRIES))
    expect(page.locator("#chart-title")).to_contain_text("Events per 30s window · purchase by country")
    expect(card(page, "purchase")).to_have_class("card focused")
    expect(legend_item(page, "=DE").locator(".value")).to_have_text("20")
    expect(legend_item(page, "=(none)").locator(".value")).to_have_text("3")
    # History: the synced windows are there (one request for every value), and the recent ones.
    splits = [q for q in dashboard.api_requests("/metrics/history") if q.get("breakdown") == ["country"]]
    assert [q["event_type"] for q in splits] == [["purchase"]]
    hover_chart_at(page, base - OLD_K * SLIDE_MS)
    expect(legend_item(page, "=DE").locator(".value")).to_have_text(str(OLD_DE))
    expect(legend_item(page, "=US").locator(".value")).to_have_text("12")
    page.mouse.move(5, 5)

    # Live: a new window reaches the lines, over a socket for this type and property (the job writes the
    # windows of every value at once).
    live = {**COUNTRIES, "DE": 26}
    dashboard.write([by_value(make_window("purchase", base + SLIDE_MS, count=count), "country", value)
                     for value, count in live.items()])  # fmt: skip
    expect(legend_item(page, "=DE").locator(".value")).to_have_text("26")
    expect(legend_item(page, "=US").locator(".value")).to_have_text("12")
    assert f"{dashboard.server.ws_url}/live-metrics?event_type=purchase&breakdown=country" in dashboard.sockets
    dashboard.screenshot(page, "breakdown")

    # A value hidden from the plot stays hidden across a reload, as does the split.
    legend_item(page, "=(none)").click()
    expect(page.locator("#chart")).to_have_attribute("data-hidden", "=(none)")
    page.reload()
    wait_settled(page)
    expect(page.locator("#chart")).to_have_attribute("data-hidden", "=(none)")
    expect(legend_item(page, "=DE").locator(".value")).to_have_text("26")

    # Another type, then no split: the event types' lines again.
    page.select_option("#breakdown-of", "click")
    wait_settled(page)
    expect(page.locator("#chart")).to_have_attribute("data-series", "=FR,=DE")
    expect(legend_item(page, "=FR").locator(".value")).to_have_text("25")
    page.select_option("#breakdown-select", "")
    expect(page.locator("#chart")).to_have_attribute("data-series", "page_view,purchase,click")
    assert "breakdown" not in page.url
    expect(page.locator("#breakdown-of-control")).to_be_hidden()
    assert chart_attr(page, "hidden") == ""


def test_without_breakdowns_the_page_offers_no_split_and_an_old_link_still_works(dashboard: Dashboard) -> None:
    base = newest_closed_start()
    dashboard.write([make_window(name, base - k * SLIDE_MS, count=count) for k in range(6)
                     for name, count in (("page_view", 500), ("purchase", 42))])  # fmt: skip

    page = dashboard.open()
    expect(page.locator("#split-controls")).to_be_hidden()
    expect(page.locator("#chart")).to_have_attribute("data-series", "page_view,purchase")
    assert dashboard.api_requests("/metrics/breakdown-properties") == [{}]

    # A link made while the job computed breakdowns: the page says the property has no data and shows the types.
    page = dashboard.open("?breakdown=country&breakdown_of=purchase")
    expect(page.locator("#split-controls")).to_be_visible()
    expect(page.locator("#breakdown-select option")).to_have_text(["nothing", "country (no data)"])
    expect(page.locator("#breakdown-of option")).to_have_text(["purchase (no data)"])
    expect(page.locator("#chart-title")).to_contain_text("purchase by country")
    expect(page.locator("#chart-note")).to_have_text("· no 30s windows of purchase by country yet")
    expect(card(page, "purchase").locator(".count")).to_have_text("42")
    page.select_option("#breakdown-select", "")
    expect(page.locator("#chart")).to_have_attribute("data-series", "page_view,purchase")
    expect(page.locator("#split-controls")).to_be_hidden()
    assert "breakdown" not in page.url
    expect(legend_item(page, "purchase").locator(".value")).to_have_text("42")
