"""Issue 14 point 5: /docs (Swagger UI) and /redoc of both services render in a browser that may reach
nothing but the service itself: no CDN script or style, no web font, no validator."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Route, expect

from harness.browser import chromium
from harness.infra import Infra
from tests.api_service.fixtures import ApiServer
from tests.track_service.fixtures import RunningService, service_settings


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def track(infra: Infra, make_topic: Callable[..., str]) -> Iterator[RunningService]:
    service = RunningService(service_settings(infra, make_topic(partitions=1))).start()
    yield service
    service.stop()


def only(base_url: str, elsewhere: list[str]) -> Callable[[Route], None]:
    """A route handler letting requests to `base_url` through and noting and aborting every other."""

    def handle(route: Route) -> None:
        if route.request.url.startswith(base_url + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    return handle


@pytest.mark.parametrize(("path", "rendered"), [("/docs", ".opblock-summary"), ("/redoc", "h2")])
def test_docs_pages_render_with_nothing_but_the_service(
    api: ApiServer, track: RunningService, browser: Browser, path: str, rendered: str
) -> None:
    for base_url, operation in ((api.base_url, "Newest windows (seed phase 3)"), (track.url, "Record one event")):
        page = browser.new_page()
        elsewhere: list[str] = []
        page.route("**/*", only(base_url, elsewhere))
        page.goto(base_url + path)
        expect(page.locator(rendered).filter(has_text=operation).first).to_be_visible(timeout=15_000)
        page.close()
        assert elsewhere == [], f"{base_url}{path} asked for {elsewhere}"
