"""What the local stack checks before and after starting something: ports, tools, health.

Spawning, restarting and stopping are supervisord's job (localstack.supervisor)."""

from __future__ import annotations

import shutil
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


def require_java() -> None:
    require_tool("java", "Java", "install a JDK 17 (apt-get install openjdk-17-jre-headless)")
