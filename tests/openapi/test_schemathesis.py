"""Issue 14 point 6: both OpenAPI documents say what the servers do. Schemathesis (pinned dev dependency) runs
`--checks all` against each service's real process, with a bounded number of examples per operation and a
fixed seed (SCHEMATHESIS_SEED / SCHEMATHESIS_MAX_EXAMPLES change them); any failure fails the test with
schemathesis's own report. tests/openapi/<service>.toml holds the few documented overrides."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from contracts.events import now_ms
from contracts.redis_keys import upsert_windows
from harness.infra import Infra, free_port, unique_name
from harness.services import ServiceProcess, stop_all
from harness.stores import insert_history
from harness.windows import make_window
from tests.api_service.fixtures import ApiServer

HERE = Path(__file__).resolve().parent
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "50")
SEED = os.environ.get("SCHEMATHESIS_SEED", "20240626")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def schemathesis(base_url: str, config: Path) -> None:
    command = [
        str(SCHEMATHESIS), "--no-color", "--config-file", str(config), "run", f"{base_url}/openapi.json",
        "--checks", "all", "--max-examples", MAX_EXAMPLES, "--seed", SEED, "--generation-database", "none",
        "--request-timeout", "10",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"schemathesis found failures:\n{done.stdout[-12_000:]}\n{done.stderr[-2000:]}"


def test_the_insights_api_does_what_its_openapi_document_says(
    api: ApiServer, infra: Infra, redis_client: redis.Redis
) -> None:
    # Windows of the documented example type, in Redis and in PostgreSQL, so answers carry entries.
    newest = now_ms() // 10_000 * 10_000 - 60_000
    insert_history(infra.postgres_dsn, api.schema, [make_window("click", newest - k * 10_000) for k in range(3, 8)])
    upsert_windows(redis_client, api.keys, [make_window("click", newest - k * 10_000, count=k + 1) for k in range(3)])

    schemathesis(api.base_url, HERE / "api_service.toml")


@pytest.fixture
def track_process(infra: Infra, make_topic: Callable[..., str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **infra.service_env(), "TRACK_HOST": "127.0.0.1", "TRACK_PORT": str(port),
        "KAFKA_EVENTS_TOPIC": make_topic(partitions=3), "REDIS_KEY_PREFIX": unique_name("openapi"),
        # Generated events carry new event types by the hundred: the limit on live types, a documented 422
        # that depends on what came before, is left out here (tests/track_service/test_admission.py has it).
        "TRACK_MAX_EVENT_TYPES": "0",
    }
    service = ServiceProcess.start("track_service", env, tmp_path / "track.log")
    base_url = f"http://127.0.0.1:{port}"
    try:
        service.wait_healthy(base_url + "/health", 60)
        yield base_url
    finally:
        stop_all([service])


def test_the_ingestion_api_does_what_its_openapi_document_says(track_process: str) -> None:
    schemathesis(track_process, HERE / "track_service.toml")
