"""A product service (`python -m MODULE`) as a child process: started with env overrides, its output in a
log file, waited for until healthy, stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.infra import REPO_ROOT
from harness.waiting import wait_until


def answers(url: str, status: int | None = 200) -> bool:
    """Whether `url` answers with `status` (any status when None)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            code = response.status
    except urllib.error.HTTPError as error:
        code = error.code
    except OSError:
        return False
    return status is None or code == status


@dataclass
class ServiceProcess:
    module: str
    proc: subprocess.Popen[bytes]
    log_file: Path

    @classmethod
    def start(cls, module: str, env: Mapping[str, str], log_file: Path) -> ServiceProcess:
        """Start `python -m module` from the repo with the environment plus `env`."""
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", module], cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            )
        return cls(module, proc, log_file)

    @property
    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def wait_for(self, condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
        """`wait_until`, failing with the tail of the service's log."""
        try:
            return wait_until(condition, timeout_s, what)
        except TimeoutError as error:
            raise TimeoutError(f"{error}; {self.module} log:\n{self.log[-4000:]}") from None

    def wait_healthy(self, url: str, timeout_s: float = 60, status: int | None = 200) -> ServiceProcess:
        """Wait until `url` answers `status` (any answer when None); fail at once if the process exits."""

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.module} exited with {self.proc.returncode}:\n{self.log[-4000:]}")
            return answers(url, status)

        self.wait_for(ready, timeout_s, f"{self.module} at {url}")
        return self

    def wait_exit(self, timeout_s: float) -> int:
        self.wait_for(lambda: self.proc.poll() is not None, timeout_s, f"{self.module} to exit")
        return self.proc.returncode

    def terminate(self, timeout_s: float = 20) -> int:
        """SIGTERM, as a supervisor stops it; its exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout_s)


def stop_all(services: Iterable[ServiceProcess], timeout_s: float = 20) -> None:
    """SIGTERM every one still running, then kill those that do not exit within `timeout_s`."""
    running = [service for service in services if service.proc.poll() is None]
    for service in running:
        service.proc.terminate()
    for service in running:
        try:
            service.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            service.proc.kill()
            service.proc.wait(10)
