"""containers/container_health.py, the images' healthcheck: real HTTP, and the local Flink when it runs."""

from __future__ import annotations

import importlib.util
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType

import pytest

from tests.compose.conftest import REPO_ROOT


def load_module() -> ModuleType:
    # Loaded by path: a `docker` package name would clash with the docker SDK.
    spec = importlib.util.spec_from_file_location("container_health", REPO_ROOT / "containers" / "container_health.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


health = load_module()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_http_check_passes_on_2xx_and_fails_otherwise(server_url: str) -> None:
    assert health.main(["container_health.py", "http", f"{server_url}/health"]) == 0
    assert health.main(["container_health.py", "http", f"{server_url}/broken"]) == 1
    assert health.main(["container_health.py", "http", "http://127.0.0.1:9/health"]) == 1


def test_usage_errors_exit_2() -> None:
    assert health.main(["container_health.py"]) == 2
    assert health.main(["container_health.py", "nonsense", "x"]) == 2


def test_taskmanager_finds_itself_by_address_among_scaled_out_ones() -> None:
    overview = {"taskmanagers": [
        {"id": "172.18.0.6:6122-3f2a1b", "path": "pekko.tcp://flink@172.18.0.6:6122/user/rpc/taskmanager_0"},
        {"id": "172.18.0.7:6122-77aa00", "path": "pekko.tcp://flink@172.18.0.7:6122/user/rpc/taskmanager_0"},
    ]}
    assert health.registered_taskmanager(overview, {"172.18.0.7", "tm-2"}) == "172.18.0.7:6122-77aa00"
    # 172.18.0.1 must not match 172.18.0.17 and friends.
    assert health.registered_taskmanager(overview, {"172.18.0.1"}) is None
    assert health.registered_taskmanager({"taskmanagers": []}, {"172.18.0.6"}) is None


def test_jobmanager_check_against_the_local_flink() -> None:
    rest_url = os.environ.get("FLINK_REST_URL", "http://localhost:8081")
    try:
        urllib.request.urlopen(f"{rest_url}/overview", timeout=2).close()
    except (urllib.error.URLError, OSError):
        pytest.skip(f"no Flink answers at {rest_url} (start the local stack: make dev)")
    assert health.main(["container_health.py", "flink-jobmanager", rest_url]) == 0
