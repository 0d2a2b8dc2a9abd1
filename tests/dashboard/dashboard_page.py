"""Driving the dashboard in a test: the data the pipeline would write, pages opened on a real API, and
reading the page (cards, legend, chart range) the way a person would."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import redis
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from contracts.events import now_ms
from contracts.redis_keys import COUNT_SKIPPED_LUA, SkippedCount, count_skipped_call, upsert_windows
from contracts.window_results import WindowMetrics
from harness.infra import REPO_ROOT, Infra
from harness.stores import insert_history
from harness.windows import make_window
from tests.api_service.fixtures import ApiServer

DIST = REPO_ROOT / "dashboard" / "dist" / "index.html"
UI_TIMEOUT_MS = 10_000
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
SLIDE_MS = 10_000
WINDOW_MS = 30_000


def newest_closed_start() -> int:
    """window_start of the newest 30s window (sliding every 10 s) that has closed by now."""
    return now_ms() // SLIDE_MS * SLIDE_MS - WINDOW_MS


def series(event_type: str, newest_start: int, counts: Iterable[int]) -> list[WindowMetrics]:
    """Consecutive windows of one type ending at `newest_start`, oldest first, one per count."""
    counts = list(counts)
    first = newest_start - (len(counts) - 1) * SLIDE_MS
    return [make_window(event_type, first + k * SLIDE_MS, count=count) for k, count in enumerate(counts)]


def with_percentiles(window: WindowMetrics, p50: float, p95: float, p99: float) -> WindowMetrics:
    """The window with the percentiles of value the job computes."""
    return window.model_copy(update={"p50": p50, "p95": p95, "p99": p99})


def by_value(window: WindowMetrics, breakdown: str, value: str) -> WindowMetrics:
    """The window as the job writes it for one value of a breakdown property."""
    return window.model_copy(update={"breakdown": breakdown, "breakdown_value": value})


@dataclass
class Dashboard:
    server: ApiServer
    browser: Browser
    redis: redis.Redis
    infra: Infra
    screenshots: Path
    contexts: list[BrowserContext] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)

    def write(self, windows: Iterable[WindowMetrics]) -> None:
        """Windows as the Flink job writes them: into Redis, published to live clients."""
        upsert_windows(self.redis, self.server.keys, list(windows))

    def write_history(self, windows: Iterable[WindowMetrics]) -> None:
        """Windows the sync worker already moved to PostgreSQL (their names stay in the Redis registry)."""
        windows = list(windows)
        keys = self.server.keys
        # The live registries: each name scored by its newest window_end, as the job's writer keeps them
        # (a breakdown window registers its value and property instead of its type and size).
        newest: dict[str, dict[str, int]] = defaultdict(dict)
        for window in windows:
            if window.breakdown is None or window.breakdown_value is None:
                names = [(keys.event_types, window.event_type), (keys.window_sizes, window.window_size)]
            else:
                names = [(keys.breakdown_values(window.event_type, window.breakdown), window.breakdown_value),
                         (keys.breakdown_properties(window.event_type), window.breakdown)]
            for registry, name in names:
                newest[registry][name] = max(newest[registry].get(name, 0), window.window_end)
        for registry, ends in newest.items():
            self.redis.zadd(registry, ends, gt=True)
        # In a thread: Playwright's event loop runs in this one, and insert_history runs its own.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(insert_history, self.infra.postgres_dsn, self.server.schema, windows).result()

    def count_skipped(self, reason: str, event_type: str | None, count: int, at_ms: int | None = None) -> None:
        """Records the job skipped, counted in its ledger as the job counts them (in the minute of `at_ms`)."""
        script_keys, args = count_skipped_call(self.server.keys, at_ms or now_ms(), SkippedCount(reason, event_type,
                                                                                                  count))
        self.redis.eval(COUNT_SKIPPED_LUA, len(script_keys), *script_keys, *map(str, args))

    def open(self, query: str = "", viewport: dict[str, int] | None = None) -> Page:
        """The dashboard in a fresh browser context (en-US, UTC), once it has ranked and loaded what it shows."""
        context = self.browser.new_context(viewport=viewport or DESKTOP, locale="en-US", timezone_id="UTC")  # type: ignore[arg-type]
        self.contexts.append(context)
        context.on("request", lambda request: self.requests.append(request.url))
        page = context.new_page()
        page.on("websocket", lambda socket: self.sockets.append(socket.url))
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.goto(f"{self.server.base_url}/static/index.html{query}")
        wait_settled(page)
        return page

    def api_requests(self, path: str) -> list[dict[str, list[str]]]:
        """Query parameters of every request the pages made to `path`."""
        return [parse_qs(urlsplit(url).query) for url in self.requests if urlsplit(url).path == path]

    def requests_outside(self) -> list[str]:
        local = urlsplit(self.server.base_url).netloc
        seen = self.requests + self.sockets
        return [url for url in seen if urlsplit(url).netloc != local and not url.startswith("data:")]

    def screenshot(self, page: Page, name: str) -> Path:
        path = self.screenshots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def wait_settled(page: Page) -> None:
    """Connected, ranked (once the snapshot was in) for the view in the URL, and no history load in flight."""
    body = page.locator("body")
    expect(body).to_have_attribute("data-settled", "true")
    page.wait_for_function("() => document.body.dataset.view === location.search")
    expect(body).to_have_attribute("data-pending-loads", "0")


def card(page: Page, key: str) -> Locator:
    return page.locator(f'.card[data-event-type="{key}"]')


def card_types(page: Page) -> list[str]:
    return [str(key) for key in page.locator(".card").evaluate_all("cards => cards.map(c => c.dataset.eventType)")]


def expect_cards(page: Page, keys: list[str]) -> None:
    """Wait for the cards to be exactly `keys`, in order."""
    script = "keys => [...document.querySelectorAll('.card')].map(c => c.dataset.eventType).join() === keys"
    with contextlib.suppress(PlaywrightTimeoutError):  # the assert below says what differs
        page.wait_for_function(script, arg=",".join(keys), timeout=UI_TIMEOUT_MS)
    assert card_types(page) == keys


def legend_item(page: Page, key: str) -> Locator:
    return page.locator(f'#legend button[data-series="{key}"]')


def chart_attr(page: Page, name: str) -> str:
    return page.locator("#chart").get_attribute(f"data-{name}") or ""


def chart_range_s(page: Page) -> tuple[float, float]:
    # Both in one read: a render between two reads would move the live range's ends apart.
    x_min, x_max = page.evaluate("() => [chart.dataset.xMin, chart.dataset.xMax]")
    return float(x_min), float(x_max)


def hover_chart_at(page: Page, at_ms: int) -> None:
    """Move the mouse over the chart at a time (the plot maps the range linearly onto its width)."""
    box = page.locator("#chart .u-over").bounding_box()
    assert box is not None
    x_min, x_max = chart_range_s(page)
    x = box["x"] + (at_ms / 1000 - x_min) / (x_max - x_min) * box["width"]
    page.mouse.move(x, box["y"] + box["height"] / 2)


def accent(locator: Locator) -> str:
    return str(locator.evaluate("e => getComputedStyle(e).getPropertyValue('--accent').trim()"))


def layout(locator: Locator) -> dict[str, Any]:
    box = locator.bounding_box()
    assert box is not None, "element is not displayed"
    return dict(box)
