"""One part of the local stack: its supervised programs, the checks and files they need before they start,
and its health. `up` starts what is not running and waits until healthy; supervisord does the rest."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from localstack.processes import StackError, log, log_tail, wait_for
from localstack.settings import StackSettings
from localstack.supervisor import ACTIVE_STATES, Program, Supervisor


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
    def supervisor(self) -> Supervisor:
        return Supervisor(self.settings.run_dir)

    def programs(self) -> list[Program]:
        raise NotImplementedError

    def healthy(self) -> bool:
        raise NotImplementedError

    def url(self) -> str:
        raise NotImplementedError

    def prepare(self, programs: list[Program]) -> None:
        """Check and write what `programs` (about to start) need: free ports, tools, config files."""

    def started(self) -> None:
        """Called once the programs were started: returns when the component is ready."""
        self.wait_healthy()

    def running(self) -> bool:
        """Whether any of its programs runs (or is being restarted)."""
        return any(self.supervisor.state(program.name) in ACTIVE_STATES for program in self.programs())

    def describe(self) -> str:
        """Each program's state, pid and restart count, e.g. `RUNNING pid 42, 1 restart`."""
        supervisor, programs, parts = self.supervisor, self.programs(), []
        restarts = supervisor.restarts()
        for program in programs:
            info, count = supervisor.info(program.name), restarts.get(program.name, 0)
            pid = f" pid {info['pid']}" if info and info["pid"] else ""
            text = f"{info['statename']}{pid}, {count} restart{'' if count == 1 else 's'}" if info else "STOPPED"
            parts.append(text if len(programs) == 1 else f"{program.name} {text}")
        return "; ".join(parts)

    def safe_healthy(self) -> bool:
        try:
            return self.healthy()
        except Exception:
            return False

    def wait_healthy(self, timeout_s: float = 120) -> None:
        def check() -> bool:
            for program in self.programs():
                if self.supervisor.state(program.name) == "FATAL":
                    raise StackError(f"{program.name} exits as soon as it starts{log_tail(program.log_file)}")
            return self.healthy()

        wait_for(self.name, check, timeout_s, self.log_file)

    def up(self) -> bool:
        """Start what is not running, then wait until healthy; True when this call started something."""
        supervisor = self.supervisor
        missing = [program for program in self.programs() if supervisor.state(program.name) not in ACTIVE_STATES]
        if not missing:
            if self.safe_healthy():
                log(f"{self.name}: already running ({self.describe()}) at {self.url()}")
                return False
            log(f"{self.name}: running ({self.describe()}) but not healthy yet, waiting")
            self.started()
            return False
        self.home.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        self.prepare(missing)
        supervisor.start(missing)
        self.started()
        log(f"{self.name}: started in {time.monotonic() - started:.1f}s at {self.url()}")
        return True

    def stop(self) -> bool:
        """Stop its programs (last first); supervisord exits once it runs nothing else. True if one ran."""
        supervisor = self.supervisor
        stopped = [supervisor.stop(program.name) for program in reversed(self.programs())]
        log(f"{self.name}: {'stopped' if any(stopped) else 'not running'}")
        supervisor.shutdown_if_idle()
        return any(stopped)

    def kill(self) -> None:
        """SIGKILL its programs, like a crash, without supervisord restarting them (for failure tests)."""
        for program in self.programs():
            self.supervisor.kill(program.name)
