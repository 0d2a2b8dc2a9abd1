"""The history tiers' configuration (contracts/tiers.py): WINDOW_SPECS with HISTORY_RETENTION, read at start."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.settings import HistorySettings
from contracts.tiers import parse_retention

DAY_S = 86_400


def tiers_of(**values: str) -> list[tuple[str, int | None]]:
    return [(str(tier.spec), tier.retention_s) for tier in HistorySettings(**values).tiers]  # type: ignore[arg-type]


def test_retention_reads_units_and_forever() -> None:
    assert parse_retention("30s=7d, 60s=12h,1h=forever") == {"30s": 7 * DAY_S, "1m": 12 * 3600, "1h": None}


def test_the_default_retention_keeps_the_sizes_other_specs_share() -> None:
    assert tiers_of(window_specs="30s/10s") == [("30s/10s", 7 * DAY_S)]
    assert tiers_of(window_specs="30s/10s,1m/20s,2h/2h") == [
        ("30s/10s", 7 * DAY_S), ("1m/20s", 30 * DAY_S), ("2h/2h", None)]
    assert tiers_of(window_specs="1h/1h,30s/10s", history_retention="1h=forever") == [
        ("30s/10s", None), ("1h/1h", None)]  # finest first; a size left out is kept forever


@pytest.mark.parametrize(("values", "problem"), [
    ({"window_specs": "30s/10s", "history_retention": "30s=7d,1h=730d"}, "1h is not a window size of WINDOW_SPECS"),
    ({"history_retention": "30s=7"}, "bad retention '7'"),
    ({"history_retention": "30s"}, "bad entry '30s': use SIZE=RETENTION"),
    ({"history_retention": "1h=30m"}, "keep them at least one window long"),
    ({"history_retention": "30s=1d,30s=2d"}, "window size 30s is given twice"),
])
def test_a_retention_that_does_not_fit_says_what_is_wrong(values: dict[str, str], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem) as raised:
        HistorySettings(**values)  # type: ignore[arg-type]
    assert raised.value.errors()[0]["loc"] == ("history_retention",)
