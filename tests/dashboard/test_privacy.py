"""The built page fetches nothing from outside the product: no CDN, no web fonts, no analytics."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from tests.dashboard.dashboard_page import DIST, Dashboard, newest_closed_start, series, wait_settled

EXTERNAL_REFERENCE = re.compile(r"""https?://|(?:url\(|src=|href=|import\s*\(?)\s*["']?//""", re.IGNORECASE)


def test_no_request_leaves_localhost(dashboard: Dashboard) -> None:
    dashboard.write(series("click", newest_closed_start(), [12] * 6))
    page = dashboard.open()
    page.click('[data-range="24h"]')
    page.fill("#search", "cl")
    page.locator("#legend summary").click()
    page.reload()
    wait_settled(page)

    assert dashboard.requests, "the recorder saw nothing"
    assert dashboard.requests_outside() == []
    assert {".js", ".css"} <= {Path(urlsplit(url).path).suffix for url in dashboard.requests}
    assert dashboard.sockets == [f"{dashboard.server.ws_url}/live-metrics"] * 2


def test_the_build_references_nothing_outside_the_product() -> None:
    built = [path for path in DIST.parent.rglob("*") if path.suffix in {".html", ".js", ".css"}]
    assert built, "no build"
    found = {path.name: EXTERNAL_REFERENCE.findall(path.read_text()) for path in built}
    assert not any(found.values()), found
