"""The services' start-up heap, kept out of the cyclic garbage collector's way."""

from __future__ import annotations

import gc


def freeze_start_up() -> None:
    """What start-up built (the app, its routes, schemas, modules) stays for the process's life: move it out of
    the cyclic collector's full passes, which would otherwise walk it again and again and show in the tail
    latency (api_service: /metrics/history p99 28.5 -> 11 ms; track_service: the batch path, docs/benchmarks)."""
    gc.collect()
    gc.freeze()
