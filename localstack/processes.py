"""Plain-process plumbing of the local stack: pid files, ports, spawning, stopping and waiting.

Issue 21 moves the local stack onto supervisord; until then this stays a thin layer over `subprocess`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import tenacity

from localstack.settings import REPO_ROOT


class StackError(RuntimeError):
    """A failure with a one-line explanation for the user."""


def log(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for(what: str, check: Callable[[], bool], timeout_s: float, log_file: Path | None = None) -> None:
    """Call `check` until it is true (exceptions count as not yet: the dependency is still coming up);
    fail with the log's tail after `timeout_s`."""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(timeout_s),
        wait=tenacity.wait_exponential(multiplier=0.2, exp_base=1.5, max=2.0),
        retry=tenacity.retry_if_exception_type() | tenacity.retry_if_result(lambda ok: not ok),
    )
    try:
        retrying(check)
    except tenacity.RetryError:
        hint = ""
        if log_file and log_file.exists():
            tail = log_file.read_text(errors="replace").splitlines()[-15:]
            hint = "\n  last log lines:\n    " + "\n    ".join(tail)
        raise StackError(f"{what} did not become healthy within {timeout_s:.0f}s (log: {log_file}){hint}") from None


def pid_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie (exited, not yet reaped by its parent) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # Reap it if it is our own child, so it does not linger as a zombie.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid_alive(pid) else None


def stop_pid(pid: int, name: str, timeout_s: float = 30) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
    still_alive = tenacity.Retrying(
        stop=tenacity.stop_after_delay(timeout_s), wait=tenacity.wait_fixed(0.2), retry=tenacity.retry_if_result(bool),
        retry_error_callback=lambda state: True,
    )
    if still_alive(pid_alive, pid):
        log(f"{name} did not stop on SIGTERM, killing it")
        os.kill(pid, signal.SIGKILL)


def spawn(cmd: list[str], log_file: Path, pid_file: Path, env: dict[str, str] | None = None) -> int:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=env, cwd=REPO_ROOT,
        )
    pid_file.write_text(str(proc.pid))
    return proc.pid


def require_free_port(port: int, name: str, variable: str) -> None:
    if port_open(port):
        raise StackError(
            f"port {port} needed by {name} is already taken by another process: "
            f"stop that process or set {variable} to a free port"
        )


def require_tool(path: str | Path, what: str, fix: str) -> None:
    if not (Path(path).exists() or shutil.which(str(path))):
        raise StackError(f"{what} not found ({path}): {fix}")
