"""The job's ledger of skipped records on the page: late events and invalid records of the last 5 minutes on
each type's card, the total in the top bar, read again every few seconds."""

from __future__ import annotations

from playwright.sync_api import expect

from contracts.events import now_ms
from tests.dashboard.dashboard_page import Dashboard, card, newest_closed_start, series

REFRESH_TIMEOUT_MS = 20_000  # the page reads the ledger every 10 s


def ledger_text(dashboard: Dashboard, event_type: str | None = None) -> str:
    """What the page should say, computed from the API's own answer (all types, or one type's card)."""
    body = dashboard.server.get("/metrics/skipped", since="5m").json()
    entries = [e for e in body["entries"] if event_type is None or e["event_type"] == event_type]
    late = sum(e["count"] for e in entries if e["reason"] == "late")
    invalid = sum(e["count"] for e in entries) - late
    assert event_type is not None or late + invalid == body["total"], body
    return " · ".join(part for part in (f"{late} late" * bool(late), f"{invalid} invalid" * bool(invalid)) if part)


def test_late_and_invalid_counts_are_shown_and_refreshed(dashboard: Dashboard) -> None:
    base = newest_closed_start()
    for name, count in {"page_view": 500, "click": 120, "purchase": 9, "signup": 4}.items():
        dashboard.write(series(name, base, [count] * 6))
    dashboard.count_skipped("late", "click", 12)
    dashboard.count_skipped("late", "purchase", 3)
    dashboard.count_skipped("bad_value", "purchase", 2)
    dashboard.count_skipped("bad_json", None, 4)  # no event type: only in the total
    dashboard.count_skipped("late", "signup", 1)
    dashboard.count_skipped("late", "click", 100, at_ms=now_ms() - 10 * 60_000)  # before the last 5 minutes

    page = dashboard.open("?top=3")  # signup is in the "other" card
    click = card(page, "click").locator(".skipped")
    expect(click).to_have_text("12 late in the last 5 min")
    expect(click).to_have_attribute("title", "Skipped by the job in the last 5 min: late: 12")
    purchase = card(page, "purchase").locator(".skipped")
    expect(purchase).to_have_text("3 late · 2 invalid in the last 5 min")
    expect(purchase).to_have_attribute("title", "Skipped by the job in the last 5 min: late: 3, bad_value: 2")
    expect(card(page, "_other").locator(".skipped")).to_have_text("1 late in the last 5 min")
    expect(card(page, "page_view").locator(".skipped")).to_be_hidden()
    total = page.locator("#skipped-total")
    expect(total).to_have_text("Skipped in the last 5 min: 16 late · 6 invalid")
    assert "bad_json: 4" in (total.get_attribute("title") or "")
    # The same numbers as GET /metrics/skipped answers.
    expect(total).to_have_text(f"Skipped in the last 5 min: {ledger_text(dashboard)}")
    for name in ("click", "purchase"):
        expect(card(page, name).locator(".skipped")).to_have_text(f"{ledger_text(dashboard, name)} in the last 5 min")

    # More late clicks: the page reads the ledger again by itself.
    dashboard.count_skipped("late", "click", 5)
    expect(click).to_have_text("17 late in the last 5 min", timeout=REFRESH_TIMEOUT_MS)
    expect(total).to_have_text("Skipped in the last 5 min: 21 late · 6 invalid")
    expect(total).to_have_text(f"Skipped in the last 5 min: {ledger_text(dashboard)}")


def test_nothing_skipped_shows_nothing(dashboard: Dashboard) -> None:
    dashboard.write(series("click", newest_closed_start(), [12] * 6))
    page = dashboard.open()
    expect(page.locator("#skipped-total")).to_be_hidden()
    expect(card(page, "click").locator(".skipped")).to_be_hidden()
    reads = dashboard.api_requests("/metrics/skipped")
    assert reads and all(query == {"since": ["5m"]} for query in reads)
