"""One thing the local stack runs: its folder, pid file and log, and an idempotent start, stop and health."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from localstack.processes import log, read_pid, stop_pid, wait_for
from localstack.settings import StackSettings


@dataclass
class Component:
    name: str
    settings: StackSettings

    @property
    def home(self) -> Path:
        return self.settings.run_dir / self.name

    @property
    def log_file(self) -> Path:
        return self.home / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.home / f"{self.name}.pid"

    def running_pid(self) -> int | None:
        return read_pid(self.pid_file)

    def healthy(self) -> bool:
        raise NotImplementedError

    def url(self) -> str:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        pid = self.running_pid()
        if pid is None:
            log(f"{self.name}: not running")
            return
        stop_pid(pid, self.name)
        self.pid_file.unlink(missing_ok=True)
        log(f"{self.name}: stopped")

    def up(self) -> bool:
        """Start unless running; returns True when this call started it."""
        pid = self.running_pid()
        if pid is not None and self.safe_healthy():
            log(f"{self.name}: already running (pid {pid}) at {self.url()}")
            return False
        if pid is not None:
            log(f"{self.name}: running (pid {pid}) but not healthy yet, waiting")
            self.wait_healthy()
            return False
        self.home.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        self.start()
        self.wait_healthy()
        log(f"{self.name}: started in {time.monotonic() - started:.1f}s at {self.url()}")
        return True

    def safe_healthy(self) -> bool:
        try:
            return self.healthy()
        except Exception:
            return False

    def wait_healthy(self, timeout_s: float = 120) -> None:
        wait_for(self.name, self.healthy, timeout_s, self.log_file)
