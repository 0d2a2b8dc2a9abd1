"""What the page says when nothing is flowing: no new windows (with the last update time), an empty
pipeline, a window size without windows, and a dropped WebSocket (reconnecting with backoff)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from playwright.sync_api import expect

from harness.windows import make_window
from tests.api_service.fixtures import ApiServer
from tests.dashboard.dashboard_page import (
    SLIDE_MS,
    Dashboard,
    card,
    hover_chart_at,
    legend_item,
    newest_closed_start,
    series,
    wait_settled,
)


def clock(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%I:%M:%S %p")


def test_no_new_windows_is_said_with_the_last_update_time(dashboard: Dashboard) -> None:
    base = newest_closed_start()
    newest = base - 30 * SLIDE_MS  # the last window closed 5 minutes ago
    dashboard.write(series("click", newest, [12] * 6))

    page = dashboard.open()
    status = page.locator("#connection")
    expect(status).to_have_attribute("data-state", "no-data")
    expect(status).to_have_text("No new windows for 5 min")
    expect(page.locator("#last-update")).to_have_text(f"Last window {clock(newest + 30_000)}")

    dashboard.write([make_window("click", base, count=14)])
    expect(status).to_have_attribute("data-state", "live")
    expect(status).to_have_text("Live")
    expect(page.locator("#last-update")).to_have_text(f"Last window {clock(base + 30_000)}")


def test_an_empty_pipeline_says_so(dashboard: Dashboard) -> None:
    page = dashboard.open()
    expect(page.locator("#connection")).to_have_text("No data yet")
    expect(page.locator("#notice")).to_have_text(
        "No windows have been written yet: they appear here as soon as events arrive."
    )
    dashboard.write([make_window("click", newest_closed_start(), count=3)])
    expect(card(page, "click").locator(".count")).to_have_text("3")
    expect(page.locator("#notice")).to_be_hidden()


def test_a_window_size_without_windows_names_the_sizes_that_exist(dashboard: Dashboard) -> None:
    dashboard.write(series("click", newest_closed_start(), [12] * 6))

    page = dashboard.open("?window_size=5m")
    notice = page.locator("#notice")
    expect(notice).to_contain_text("No 5m windows: this pipeline computes other sizes. Window sizes with data: 30s")
    expect(page.locator("#window-size option:checked")).to_have_text("5m (no data)")
    notice.get_by_role("button", name="30s").click()
    expect(card(page, "click").locator(".count")).to_have_text("12")
    expect(notice).to_be_hidden()
    assert "window_size" not in page.url

    page.goto(page.url + "?window_size=abc")
    expect(notice).to_contain_text(
        "“abc” is not a window size: use a whole number of s, m or h. Window sizes with data: 30s"
    )


def test_a_dropped_connection_reconnects_with_backoff_and_fills_the_gap(
    dashboard: Dashboard, start_api: Callable[..., ApiServer]
) -> None:
    base = newest_closed_start()
    dashboard.write(series("signup", base, [5] * 6))
    page = dashboard.open("?range=5m")
    status = page.locator("#connection")
    expect(status).to_have_attribute("data-state", "live")

    server = dashboard.server
    server.process.terminate()
    server.process.wait(timeout=10)
    expect(status).to_have_attribute("data-state", "reconnecting")
    expect(status).to_contain_text("Reconnecting")
    # Each failed attempt waits twice as long as the one before.
    for delay_ms in ("2000", "4000"):
        expect(status).to_have_attribute("data-retry-ms", delay_ms, timeout=15_000)

    # Two windows closed while the page was cut off: the socket will never send the older one.
    dashboard.write(
        [make_window("signup", base + SLIDE_MS, count=6), make_window("signup", base + 2 * SLIDE_MS, count=7)]
    )
    port = int(server.base_url.rsplit(":", 1)[1])
    start_api(port=port, REDIS_KEY_PREFIX=server.keys.prefix, POSTGRES_SCHEMA=server.schema)
    expect(status).to_have_attribute("data-state", "live", timeout=20_000)
    wait_settled(page)
    expect(card(page, "signup").locator(".count")).to_have_text("7")
    hover_chart_at(page, base + SLIDE_MS)
    expect(legend_item(page, "signup").locator(".value")).to_have_text("6")
    page.mouse.move(5, 5)
    dashboard.write([make_window("signup", base + 3 * SLIDE_MS, count=8)])
    expect(card(page, "signup").locator(".count")).to_have_text("8")
