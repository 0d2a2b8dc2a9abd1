"""`python -m sync_service`: run the sync worker until SIGTERM or SIGINT (the batch in flight finishes)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from contracts.log_setup import setup_logging
from contracts.settings import load_settings
from sync_service.settings import Settings
from sync_service.worker import FatalSyncError, SyncWorker


async def serve(settings: Settings) -> None:
    worker = SyncWorker(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, worker.request_stop)
    try:
        worker.prometheus.serve(settings.sync_metrics_host, settings.sync_metrics_port)
    except OSError as error:
        raise FatalSyncError(f"cannot serve metrics on port {settings.sync_metrics_port}: {error}; "
                             "set SYNC_METRICS_PORT to a free port (0 disables)") from error
    try:
        await worker.run()
    finally:
        await worker.close()


def main() -> int:
    settings = load_settings(Settings)
    setup_logging(settings.log_level)
    try:
        asyncio.run(serve(settings))
    except FatalSyncError as error:
        logging.getLogger("sync_service").error("cannot sync: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
