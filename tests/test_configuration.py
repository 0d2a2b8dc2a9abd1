"""`.env.example` documents every setting the code reads, and nothing the code does not read."""

from __future__ import annotations

import re

import pytest
from pydantic_settings import BaseSettings

from api_service.settings import Settings as ApiSettings
from contracts.settings import load_settings
from flink_service.settings import Settings as FlinkSettings
from harness.infra import REPO_ROOT
from localstack.settings import StackSettings
from sync_service.settings import Settings as SyncSettings
from track_service.settings import Settings as TrackSettings

SETTINGS_CLASSES: list[type[BaseSettings]] = [TrackSettings, ApiSettings, SyncSettings, FlinkSettings, StackSettings]
ENV_EXAMPLE = REPO_ROOT / ".env.example"


def documented() -> dict[str, str]:
    """NAME -> value for every `NAME=value` or `# NAME=value` line."""
    pattern = re.compile(r"^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$")
    return {m.group(1): m.group(2) for line in ENV_EXAMPLE.read_text().splitlines() if (m := pattern.match(line))}


def read_by_code() -> set[str]:
    return {name.upper() for cls in SETTINGS_CLASSES for name in cls.model_fields}


def used_by_compose() -> set[str]:
    files = ("docker-compose.yml", "docker-compose.scale.yml")
    return {name for file in files for name in re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (REPO_ROOT / file).read_text())}


def test_every_setting_is_documented() -> None:
    assert read_by_code() - set(documented()) == set()


def test_every_documented_variable_is_read_by_code_or_compose() -> None:
    assert set(documented()) - read_by_code() - used_by_compose() == set()


@pytest.mark.parametrize("settings_class", SETTINGS_CLASSES, ids=lambda cls: cls.__module__)
def test_documented_values_are_valid(settings_class: type[BaseSettings]) -> None:
    settings_class(_env_file=ENV_EXAMPLE)


def test_a_bad_value_stops_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WINDOW_SPECS", "30s/7s")
    with pytest.raises(SystemExit) as stopped:
        load_settings(FlinkSettings)
    assert stopped.value.code == 2
    message = capsys.readouterr().err.strip()
    assert message.count("\n") == 0
    assert message.startswith("invalid configuration: WINDOW_SPECS:")
    assert "multiple of its slide" in message


def test_an_unknown_log_level_stops_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "verbose")
    with pytest.raises(SystemExit):
        load_settings(ApiSettings)
    assert capsys.readouterr().err.strip() == (
        "invalid configuration: LOG_LEVEL: Value error, use one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
    )
