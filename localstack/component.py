"""One part of the local stack: its supervised programs, the checks and files they need before they start,
and its health. `up` starts what is not running and waits until healthy; supervisord does the rest."""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from pathlib import Path

from localstack.processes import StackError, live_pids, log, log_tail, stop_unsupervised, wait_for
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

    def unsupervised_pids(self, program: Program) -> list[int]:
        """Live processes of this program that supervisord does not own (an earlier version started them)."""
        supervised = self.supervisor.pid(program.name)
        return [pid for pid in live_pids(program.pid_file, program.pid_marker) if pid != supervised]

    def unsupervised_pid(self, program: Program) -> int | None:
        return next(iter(self.unsupervised_pids(program)), None)

    def running(self) -> bool:
        """Whether any of its programs runs (or is being restarted)."""
        return any(self.supervisor.state(program.name) in ACTIVE_STATES or self.unsupervised_pid(program) is not None
                   for program in self.programs())

    def describe(self) -> str:
        """Each program's state, pid and restart count, e.g. `RUNNING pid 42, 1 restart`."""
        supervisor, parts = self.supervisor, []
        restarts = supervisor.restarts()
        for program in self.programs():
            outside = self.unsupervised_pid(program)
            info = supervisor.info(program.name)
            if outside is not None:
                text = f"pid {outside}, not supervised"
            elif info is None:
                text = "STOPPED"
            else:
                count = restarts.get(program.name, 0)
                pid = f" pid {info['pid']}" if info["pid"] else ""
                text = f"{info['statename']}{pid}, {count} restart{'' if count == 1 else 's'}"
            parts.append(text if len(self.programs()) == 1 else f"{program.name} {text}")
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
        missing = [program for program in self.programs()
                   if supervisor.state(program.name) not in ACTIVE_STATES and self.unsupervised_pid(program) is None]
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

    def stop(self) -> None:
        """Stop its programs (last first); supervisord exits once it runs nothing else."""
        supervisor, stopped = self.supervisor, False
        for program in reversed(self.programs()):
            outside = self.unsupervised_pids(program)
            if supervisor.state(program.name) in ACTIVE_STATES:
                supervisor.stop(program.name)
                stopped = True
            for pid in outside:
                stop_unsupervised(pid, program.name, signal.Signals[f"SIG{program.stop_signal}"])
            if outside and program.pid_file:
                program.pid_file.unlink(missing_ok=True)  # its pid may belong to another process later
            stopped |= bool(outside)
        log(f"{self.name}: {'stopped' if stopped else 'not running'}")
        supervisor.shutdown_if_idle()

    def kill(self) -> None:
        """SIGKILL its programs, like a crash, without supervisord restarting them (for failure tests)."""
        for program in self.programs():
            self.supervisor.kill(program.name)
