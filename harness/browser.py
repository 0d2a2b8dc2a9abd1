"""Debian's Chromium driven by Playwright, as the dashboard and docs tests use it (no browser download)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]  # fmt: skip


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for the duration; fails the test, saying how to get it, when it is missing."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `apt-get install chromium` (make setup installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
