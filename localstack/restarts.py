"""supervisord's event listener that counts the restarts of each program (`make status` shows them).

    python -m localstack.restarts COUNTS_FILE     # run by supervisord, speaking its listener protocol

supervisord reports every state change; a program entering STARTING from EXITED (it died while running)
or from BACKOFF (it died while starting) is a restart supervisord made by itself. A start the stack asked
for comes from STOPPED or FATAL and is not counted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from supervisor import childutils

AUTOMATIC_FROM = {"EXITED", "BACKOFF"}


def main(counts_file: Path) -> None:
    try:
        counts: dict[str, int] = json.loads(counts_file.read_text())
    except (OSError, ValueError):
        counts = {}
    while True:
        _headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        event = childutils.get_headers(payload.split("\n", 1)[0])
        if event.get("from_state") in AUTOMATIC_FROM:
            counts[event["processname"]] = counts.get(event["processname"], 0) + 1
            partial = counts_file.with_suffix(".tmp")
            partial.write_text(json.dumps(counts))
            partial.replace(counts_file)
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
