"""What the local stack checks before and after starting something: ports, tools, health, pids.

Spawning, restarting and stopping are supervisord's job (localstack.supervisor). The pid helpers here
only find and stop what runs outside it: a stack started by an earlier, unsupervised version.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import tenacity


class StackError(RuntimeError):
    """A failure with a one-line explanation for the user."""


def log(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for(what: str, check: Callable[[], bool], timeout_s: float, log_file: Path | None = None) -> None:
    """Call `check` until it is true (exceptions count as not yet: the dependency is still coming up, except a
    StackError, which ends the wait); fail with the log's tail after `timeout_s`."""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(timeout_s),
        wait=tenacity.wait_exponential(multiplier=0.2, exp_base=1.5, max=2.0),
        retry=tenacity.retry_if_not_exception_type(StackError) | tenacity.retry_if_result(lambda ok: not ok),
    )
    try:
        retrying(check)
    except tenacity.RetryError:
        raise StackError(f"{what} did not become healthy within {timeout_s:.0f}s{log_tail(log_file)}") from None


def log_tail(log_file: Path | None, lines: int = 15) -> str:
    if not log_file or not log_file.exists():
        return ""
    tail = log_file.read_text(errors="replace").splitlines()[-lines:]
    return f" (log: {log_file})\n  last log lines:\n    " + "\n    ".join(tail)


def require_free_port(port: int, name: str, variable: str) -> None:
    if port_open(port):
        raise StackError(
            f"port {port} needed by {name} is already taken by another process: "
            f"stop that process or set {variable} to a free port"
        )


def require_tool(path: str | Path, what: str, fix: str) -> None:
    if not (Path(path).exists() or shutil.which(str(path))):
        raise StackError(f"{what} not found ({path}): {fix}")


def pid_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie (exited, not yet reaped) counts as gone."""
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def live_pids(pid_file: Path | None, marker: str) -> list[int]:
    """The live processes among the pids on the file's leading lines (one, or Flink's one per process;
    PostgreSQL's postmaster.pid goes on with other lines) whose command line contains `marker`: a pid file
    outlives its process, and on a busy machine the pid soon names another one (Flink's pid files keep
    every pid they were given)."""
    try:
        lines = (pid_file or Path()).read_text().split("\n")
    except OSError:
        return []
    pids = []
    for line in lines:
        if not line.strip().isdigit():
            break
        pids.append(int(line))
    return [pid for pid in pids if pid_alive(pid) and marker in command_line(pid)]


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def stop_unsupervised(pid: int, name: str, sig: signal.Signals, timeout_s: float = 60) -> None:
    """Stop a process an earlier, unsupervised version of the stack started: `sig`, then SIGKILL."""
    os.kill(pid, sig)
    still_alive = tenacity.Retrying(stop=tenacity.stop_after_delay(timeout_s), wait=tenacity.wait_fixed(0.2),
                                    retry=tenacity.retry_if_result(bool), retry_error_callback=lambda state: True)
    if still_alive(pid_alive, pid):
        log(f"{name} did not stop on {sig.name}, killing it")
        os.kill(pid, signal.SIGKILL)
