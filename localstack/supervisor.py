"""The local stack's process supervisor: one supervisord per run folder (http://supervisord.org).

Every long-running part of the stack is a supervisord program running in the foreground: supervisord
spawns it, restarts it when it dies (at once after a crash, with a growing delay while it fails to start),
writes its output to its log file and stops it. This module writes the programs' config and talks to
supervisord over its XML-RPC socket in the run folder; ordering and health gates stay in `component`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import sys
import xmlrpc.client
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport

from localstack.processes import StackError, wait_for
from localstack.settings import REPO_ROOT

# States in which supervisord owns a live (or about to be restarted) process: starting one again is refused.
ACTIVE_STATES = frozenset({"STARTING", "RUNNING", "BACKOFF", "STOPPING"})
# A socket path longer than this does not fit in sockaddr_un (108 bytes with the terminator).
MAX_SOCKET_PATH = 100


@dataclass(frozen=True)
class Program:
    """One supervised process: a foreground command, where it runs and logs, how it stops."""

    name: str
    command: Sequence[str]
    log_file: Path
    directory: Path = REPO_ROOT
    environment: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None
    stop_signal: str = "TERM"
    stop_wait_s: int = 30

    def section(self) -> str:
        def quoted(value: str) -> str:
            if '"' in value:
                raise StackError(f"{self.name}: the value {value!r} of its environment must not contain '\"'")
            return f'"{value}"'

        lines = [
            f"[program:{self.name}]",
            f"command={shlex.join(self.command)}",
            f"directory={self.directory}",
            "autostart=false",  # the stack starts programs itself, in order, each after what it needs is healthy
            "autorestart=true",
            # Up 5 s counts as started; a process dying sooner is retried after 1 s, 2 s, 3 s... up to 20 times.
            "startsecs=5",
            "startretries=20",
            f"stopsignal={self.stop_signal}",
            f"stopwaitsecs={self.stop_wait_s}",
            "stopasgroup=true",  # workers a process forked (PyFlink's Python workers) stop with it
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={self.log_file}",
            "stdout_logfile_maxbytes=20MB",
            "stdout_logfile_backups=2",
        ]
        if self.user:
            lines.append(f"user={self.user}")
        if self.environment:
            lines.append("environment=" + ",".join(f"{k}={quoted(v)}" for k, v in sorted(self.environment.items())))
        # supervisord expands %(name)s in its config: a literal percent sign is written twice.
        return "\n".join(line.replace("%", "%%") for line in lines) + "\n"


class Supervisor:
    """The supervisord of one run folder, started on first use and shut down when it has nothing left to run."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir.resolve()
        self.conf_file = self.run_dir / "supervisord.conf"
        self.programs_dir = self.run_dir / "supervisor"
        self.log_file = self.run_dir / "supervisord.log"
        self.pid_file = self.run_dir / "supervisord.pid"
        socket = self.run_dir / "supervisord.sock"
        if len(str(socket)) > MAX_SOCKET_PATH:
            digest = hashlib.sha256(str(self.run_dir).encode()).hexdigest()[:16]
            socket = Path("/tmp") / f"localstack-{digest}.sock"
        self.socket = socket

    def _rpc(self) -> Any:
        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://localhost", transport=transport).supervisor

    def answers(self) -> bool:
        try:
            return bool(self._rpc().getState()["statename"] == "RUNNING")
        except OSError:
            return False

    def _write_main_config(self) -> None:
        self.programs_dir.mkdir(parents=True, exist_ok=True)
        self.conf_file.write_text("\n".join([
            "[supervisord]",
            f"logfile={self.log_file}",
            f"pidfile={self.pid_file}",
            f"childlogdir={self.run_dir}",
            f"directory={self.run_dir}",
            *(["user=root"] if os.geteuid() == 0 else []),  # says so, instead of a warning at every start
            "",
            "[unix_http_server]",
            f"file={self.socket}",
            "chmod=0700",
            "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
            "",
            "[supervisorctl]",
            f"serverurl=unix://{self.socket}",
            "",
            "[include]",
            f"files={self.programs_dir}/*.conf",
            "",
        ]))

    def ensure_running(self) -> None:
        if self.answers():
            return
        self._write_main_config()
        # supervisord daemonizes itself: it does not stay a child of this process.
        started = subprocess.run([sys.executable, "-m", "supervisor.supervisord", "-c", str(self.conf_file)],
                                 capture_output=True, text=True, cwd=self.run_dir)
        if started.returncode != 0:
            raise StackError(f"supervisord did not start: {(started.stderr or started.stdout).strip()[-500:]}")
        wait_for("supervisord", self.answers, 30, self.log_file)

    def start(self, programs: Sequence[Program]) -> None:
        """(Re)write the programs' config and start them without waiting; none of them may be active."""
        self.ensure_running()
        rpc = self._rpc()
        for program in programs:
            (self.programs_dir / f"{program.name}.conf").write_text(program.section())
        [[added, changed, _removed]] = rpc.reloadConfig()
        for program in programs:
            if program.name in changed:
                rpc.removeProcessGroup(program.name)
            if program.name in added or program.name in changed:
                rpc.addProcessGroup(program.name)
            rpc.startProcess(program.name, False)

    def info(self, name: str) -> dict[str, Any] | None:
        """supervisord's view of the program (statename, pid, ...); None when it does not run it."""
        try:
            found: dict[str, Any] = self._rpc().getProcessInfo(name)
        except (OSError, xmlrpc.client.Fault):
            return None
        return found

    def state(self, name: str) -> str | None:
        found = self.info(name)
        return str(found["statename"]) if found else None

    def pid(self, name: str) -> int | None:
        found = self.info(name)
        return int(found["pid"]) if found and found["pid"] else None

    def stop(self, name: str) -> bool:
        """Stop it with its stop signal (SIGKILL after its stop wait) and wait until it has exited; True if it ran."""
        if self.state(name) not in ACTIVE_STATES:
            return False
        self._rpc().stopProcess(name, True)
        return True

    def kill(self, name: str) -> None:
        """SIGKILL it, like a crash, but keep it down: told to stop first, supervisord does not restart it."""
        if self.state(name) in ACTIVE_STATES:
            rpc = self._rpc()
            rpc.stopProcess(name, False)
            rpc.signalProcess(name, "KILL")
            wait_for(f"{name} to be killed", lambda: self.state(name) not in ACTIVE_STATES, 30)

    def restarts(self) -> dict[str, int]:
        """How often supervisord restarted each program by itself since it started: it logs every exit it did
        not ask for (`exited: NAME`, a stop is `stopped: NAME`) and restarts it, unless it `gave up: NAME`."""
        try:
            since_start = self.log_file.read_text(errors="replace").rsplit(" supervisord started with pid ", 1)[-1]
        except OSError:
            return {}
        counts: Counter[str] = Counter()
        for event, name in re.findall(r" (exited|gave up): (\S+) ", since_start):
            counts[name] += 1 if event == "exited" else -1
        return dict(counts)

    def shutdown_if_idle(self) -> None:
        """Shut supervisord down, and wait until it has exited, when none of the stack's programs is active."""
        ours = {conf.stem for conf in self.programs_dir.glob("*.conf")}
        try:
            rpc = self._rpc()
            if any(p["name"] in ours and p["statename"] in ACTIVE_STATES for p in rpc.getAllProcessInfo()):
                return
            rpc.shutdown()
        except OSError:
            return
        # It removes its pid file last, once everything it ran has exited.
        wait_for("supervisord to exit", lambda: not self.pid_file.exists(), 30, self.log_file)
