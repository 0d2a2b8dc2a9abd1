"""tools.write_key: the Compose stack's write key is made once, kept owner-only, and printed only when made."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from harness.infra import REPO_ROOT
from tools.write_key import ensure_key, read_key


def run_write_key(path: Path, keys: str = "") -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "TRACK_API_KEYS": keys}
    return subprocess.run([sys.executable, "-m", "tools.write_key", str(path)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_the_first_run_makes_and_prints_a_key_later_runs_keep_it_unprinted(tmp_path: Path) -> None:
    path = tmp_path / "write-key"
    first = run_write_key(path)
    assert first.returncode == 0, first.stderr
    key = read_key(path)
    assert key is not None and len(key) == 32
    assert first.stdout.count(key) == 1 and f"X-API-Key: {key}" in first.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = run_write_key(path)
    assert again.returncode == 0 and key not in again.stdout and "kept in" in again.stdout
    assert read_key(path) == key
    assert not list(tmp_path.glob(".*partial")), "no half-written key left behind"


def test_configured_keys_win_and_nothing_is_made(tmp_path: Path) -> None:
    path = tmp_path / "write-key"
    done = run_write_key(path, keys="key-one,key-two")
    assert done.returncode == 0 and "2 key(s) of TRACK_API_KEYS" in done.stdout
    assert not path.exists()
    assert "none generated" in ensure_key(path, frozenset({"k"}))


def test_a_missing_folder_or_bad_keys_stop_with_one_line(tmp_path: Path) -> None:
    missing = run_write_key(tmp_path / "absent" / "write-key")
    assert missing.returncode == 1 and "is not a directory" in missing.stderr
    blank = run_write_key(tmp_path / "write-key", keys="key-one, ,")
    assert blank.returncode == 2 and blank.stderr.startswith("invalid configuration: TRACK_API_KEYS")
    assert blank.stderr.count("\n") == 1


def test_an_empty_file_is_no_key(tmp_path: Path) -> None:
    path = tmp_path / "write-key"
    path.write_text("\n")
    assert read_key(path) is None
    assert "X-API-Key: " in ensure_key(path, frozenset())
    assert read_key(path) is not None
