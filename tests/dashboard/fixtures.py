"""Fixtures for the dashboard's browser tests: Debian's Chromium (driven by Playwright) against a real
api_service process with its own Redis key prefix and PostgreSQL schema. Tests write windows as the
pipeline does (Redis upsert + publish, PostgreSQL rows for history) and read the page as a person would."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Browser

from harness.browser import chromium
from harness.infra import Infra
from tests.api_service.fixtures import TEST_OUTPUT, ApiServer
from tests.dashboard.dashboard_page import DIST, Dashboard

SCREENSHOTS = TEST_OUTPUT / "dashboard"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


# Module scope, set up after the module's API processes: Playwright runs an event loop in this thread,
# and the API fixture's teardown (asyncio.run) needs it gone.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not DIST.exists():
        pytest.fail("the dashboard is not built: run `make setup` (npm ci && npm run build in dashboard/)")
    with chromium() as browser:
        yield browser


@pytest.fixture
def dashboard(
    start_api: Callable[..., ApiServer],  # first: its teardown runs after the browser's (see browser)
    browser: Browser,
    redis_client: redis.Redis,
    infra: Infra,
    screenshots: Path,
) -> Iterator[Dashboard]:
    """A fresh API (nothing in its prefix or schema) and the pages opened on it. Every test also checks
    that no page it opened made a request anywhere but the API."""
    dashboard = Dashboard(start_api(), browser, redis_client, infra, screenshots)
    yield dashboard
    dashboard.close()
    assert dashboard.requests_outside() == [], "the page made requests outside the product"
