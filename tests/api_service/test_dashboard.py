"""The dashboard in headless Chromium (Debian's, driven by Playwright) against a real API, Redis and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Browser, Page, expect, sync_playwright

from contracts.events import now_ms
from contracts.redis_keys import upsert_windows
from harness.windows import make_window
from tests.api_service.fixtures import TEST_OUTPUT, ApiServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]  # fmt: skip
DIST = Path(__file__).resolve().parents[2] / "dashboard" / "dist" / "index.html"
UI_TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `apt-get install chromium` (make setup installs it)")
    if not DIST.exists():
        pytest.fail("the dashboard is not built: run `make setup` (npm ci && npm run build in dashboard/)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def card_value(page: Page, event_type: str, field: str) -> str:
    return page.locator(f'.card[data-event-type="{event_type}"] .{field}').inner_text()


def chart_points(page: Page) -> int:
    return int(page.locator("#chart").get_attribute("data-points") or 0)


def test_dashboard_shows_history_then_live_updates_and_filters(
    api: ApiServer, browser: Browser, redis_client: redis.Redis
) -> None:
    shutil.rmtree(TEST_OUTPUT / "dashboard", ignore_errors=True)
    (TEST_OUTPUT / "dashboard").mkdir(parents=True)
    # Recent windows for two types, 10 s apart, before the page opens (what "loads recent history" shows).
    first = now_ms() // 10_000 * 10_000 - 20 * 10_000
    recent = [make_window("click", first + k * 10_000, count=100 + 7 * k) for k in range(18)]
    recent += [make_window("purchase", first + k * 10_000, count=20 + k % 5) for k in range(18)]
    upsert_windows(redis_client, api.keys, recent)

    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.goto(api.base_url + "/")

    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(page.locator(".card")).to_have_count(2)
    expect(page.locator('.card[data-event-type="click"] .count')).to_have_text("219")
    expect(page.locator("#chart canvas")).to_have_count(1)
    expect(page.locator("#chart")).to_have_attribute("data-points", "36")

    # Live: a new click window and a new purchase window reach the cards, the chart and the feed.
    upsert_windows(
        redis_client,
        api.keys,
        [
            make_window("click", first + 18 * 10_000, count=250, unique_users=40),
            make_window("purchase", first + 18 * 10_000, count=31),
        ],
    )
    expect(page.locator('.card[data-event-type="click"] .count')).to_have_text("250")
    expect(page.locator('.card[data-event-type="click"] .unique-users')).to_have_text("40")
    expect(page.locator('.card[data-event-type="purchase"] .count')).to_have_text("31")
    expect(page.locator("#chart")).to_have_attribute("data-points", "38")
    # The feed: the snapshot on connect (latest window per type), then the two live updates, newest first.
    expect(page.locator("#feed li")).to_have_count(4)
    assert page.locator("#feed li .numbers").first.inner_text().startswith("31 events")
    page.screenshot(path=str(TEST_OUTPUT / "dashboard" / "laptop.png"), full_page=True)

    # Filter to one type: one card, one line, only its feed items, and its updates only.
    page.select_option("#event-type-filter", "purchase")
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator("#chart")).to_have_attribute("data-points", "19")
    upsert_windows(redis_client, api.keys, [make_window("click", first + 19 * 10_000, count=300)])
    upsert_windows(redis_client, api.keys, [make_window("purchase", first + 19 * 10_000, count=33)])
    expect(page.locator('.card[data-event-type="purchase"] .count')).to_have_text("33")
    expect(page.locator("#feed li:visible")).to_have_count(3)
    assert page.locator("#feed li").count() == 6
    assert card_value(page, "purchase", "count") == "33" and chart_points(page) == 20

    page.set_viewport_size({"width": 390, "height": 844})
    page.select_option("#event-type-filter", "")
    expect(page.locator(".card")).to_have_count(2)
    page.screenshot(path=str(TEST_OUTPUT / "dashboard" / "phone.png"), full_page=True)
    page.close()


def test_dashboard_shows_a_dropped_connection_and_reconnects(
    start_api: Callable[..., ApiServer], browser: Browser, redis_client: redis.Redis
) -> None:
    server = start_api()
    page = browser.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.goto(server.base_url + "/static/index.html")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")

    server.process.terminate()
    server.process.wait(timeout=10)
    expect(page.locator("#connection")).to_have_attribute("data-state", "reconnecting")
    expect(page.locator("#connection")).to_contain_text("retrying")

    start_api(port=int(server.base_url.rsplit(":", 1)[1]), REDIS_KEY_PREFIX=server.keys.prefix)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=20_000)
    upsert_windows(redis_client, server.keys, [make_window("signup", now_ms() // 10_000 * 10_000, count=5)])
    expect(page.locator('.card[data-event-type="signup"] .count')).to_have_text("5")
    page.close()
