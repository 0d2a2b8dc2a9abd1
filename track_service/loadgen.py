"""Old path of `python -m tools.loadgen` (not part of the ingestion service); kept so that commands
and scripts using `python -m track_service.loadgen` keep working."""

from __future__ import annotations

import sys

from tools.loadgen import main

if __name__ == "__main__":
    sys.exit(main())
