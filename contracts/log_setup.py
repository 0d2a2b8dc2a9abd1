"""One logging setup for every service: the same line format, the level from settings (`LOG_LEVEL`).

uvicorn is started with `log_config=None` so that its own loggers go through this setup too.
"""

from __future__ import annotations

import logging
import sys

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: str) -> None:
    """Log to stderr in LOG_FORMAT at `level` (a name such as INFO or debug)."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT, stream=sys.stderr)
