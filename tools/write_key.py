"""The Compose stack's write key for /track: made once, kept in a file, printed once.

    python -m tools.write_key PATH

Run by the one-shot `keys-init` service of docker-compose.yml before track_service starts. When
TRACK_API_KEYS is set (in `.env`), those keys are the ones track_service checks: nothing is made.
Otherwise, the first run makes a random key, writes it to PATH (a named volume, readable by the
services' user only) and prints it; later runs leave it as it is and say where it is, so the key
appears in the logs once. track_service and the demo load generator read PATH when TRACK_API_KEYS
is empty (docs/docker.md, "Write keys").
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from contracts.settings import load_settings
from track_service.settings import Settings

KEY_BYTES = 24  # 192 random bits, 32 URL-safe characters


def read_key(path: Path) -> str | None:
    """The key kept in `path`, or None when there is none yet."""
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        return None
    return key or None


def make_key(path: Path) -> str:
    """Write a new random key to `path` (owner-only, atomically: a crash leaves no half-written key)."""
    key = secrets.token_urlsafe(KEY_BYTES)
    partial = path.with_name(f".{path.name}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")
        file.flush()
        os.fsync(file.fileno())
    partial.replace(path)
    return key


def ensure_key(path: Path, configured: frozenset[str]) -> str:
    """What to tell the user: configured keys win, a kept key stays, else a new one (shown once)."""
    if configured:
        return f"write keys: the {len(configured)} key(s) of TRACK_API_KEYS (.env); none generated"
    if read_key(path) is not None:
        return (f"write key: the one generated at the first start, kept in {path} "
                f"(`docker compose exec track_service cat {path}` shows it)")
    key = make_key(path)
    return (f"write key generated for POST /track and /track/batch (printed only this once; kept in {path}):\n"
            f"  X-API-Key: {key}\n"
            "(or as Authorization: Bearer with the same key)")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tools.write_key PATH", file=sys.stderr)
        return 2
    path = Path(argv[0])
    if not path.parent.is_dir():
        print(f"tools.write_key: {path.parent} is not a directory (mount the keys volume there)", file=sys.stderr)
        return 1
    print(ensure_key(path, load_settings(Settings).api_keys), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
