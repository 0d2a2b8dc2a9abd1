"""Old path of `python -m tools.topic_admin` (not part of the ingestion service); kept so that commands
and scripts using `python -m track_service.admin` keep working."""

from __future__ import annotations

import sys

from tools.topic_admin import main

if __name__ == "__main__":
    sys.exit(main())
