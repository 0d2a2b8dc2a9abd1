"""Talking to a Flink session cluster: its REST API and the `flink` CLI from the PyFlink wheel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUNNING_STATES = {"CREATED", "INITIALIZING", "RUNNING", "RESTARTING", "RECONCILING"}


# A job in one of these states will not change again.
TERMINAL_STATES = frozenset({"FINISHED", "CANCELED", "FAILED"})


def flink_home() -> Path:
    """FLINK_HOME when set (the Flink image), else the distribution inside the apache-flink wheel."""
    if os.environ.get("FLINK_HOME"):
        return Path(os.environ["FLINK_HOME"])
    import pyflink

    return Path(pyflink.__file__).resolve().parent


@dataclass(frozen=True)
class JobSummary:
    job_id: str
    name: str
    state: str


class FlinkCluster:
    def __init__(self, rest_url: str) -> None:
        self.rest_url = rest_url.rstrip("/")

    def get_json(self, path: str) -> Any:
        """GET a REST path (e.g. `/jobs/overview`) and decode its JSON."""
        with urllib.request.urlopen(f"{self.rest_url}{path}", timeout=5) as response:
            return json.load(response)

    def post_json(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            f"{self.rest_url}{path}", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def stop_with_savepoint(self, job_id: str, target_dir: str, timeout_s: float = 120) -> str:
        """Stop the job after a savepoint into `target_dir`; returns the savepoint's location.

        A job whose tasks are still being deployed cannot take one yet: that attempt is retried."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            trigger = self.post_json(f"/jobs/{job_id}/stop", {"targetDirectory": target_dir, "drain": False})
            while time.monotonic() < deadline:
                status = self.get_json(f"/jobs/{job_id}/savepoints/{trigger['request-id']}")
                if status["status"]["id"] == "COMPLETED":
                    break
                time.sleep(0.5)
            else:
                break
            operation = status.get("operation", {})
            if "location" in operation:
                return str(operation["location"])
            cause = failure_summary(operation.get("failure-cause"))
            if "Not all required tasks are currently running" not in cause:
                raise RuntimeError(f"savepoint of job {job_id} failed: {cause}")
            time.sleep(1)
        raise TimeoutError(f"no savepoint of job {job_id} within {timeout_s:.0f}s")

    def restored_from(self, job_id: str) -> str | None:
        """The savepoint or checkpoint path the job started from, if any."""
        restored = (self.get_json(f"/jobs/{job_id}/checkpoints").get("latest") or {}).get("restored")
        return str(restored["external_path"]) if restored else None

    def jobs(self) -> list[JobSummary]:
        return [JobSummary(j["jid"], j["name"], j["state"]) for j in self.get_json("/jobs/overview")["jobs"]]

    def running_jobs(self, name: str) -> list[JobSummary]:
        return [job for job in self.jobs() if job.name == name and job.state in RUNNING_STATES]

    def job(self, job_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self.get_json(f"/jobs/{job_id}")
        return data

    def completed_checkpoints(self, job_id: str) -> int:
        counts = self.get_json(f"/jobs/{job_id}/checkpoints")["counts"]
        return int(counts["completed"])

    def cancel(self, job_id: str) -> None:
        request = urllib.request.Request(f"{self.rest_url}/jobs/{job_id}?mode=cancel", method="PATCH")
        with urllib.request.urlopen(request, timeout=5):
            pass

    def wait_state(self, job_id: str, states: set[str] | frozenset[str], timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        state = "UNKNOWN"
        while time.monotonic() < deadline:
            state = str(self.job(job_id)["state"])
            if state in states:
                return state
            time.sleep(0.5)
        raise TimeoutError(f"job {job_id} still {state} after {timeout_s:.0f}s, wanted one of {states}")

    def run_python(
        self, script: Path, args: list[str], *, detached: bool, env: dict[str, str] | None = None,
        savepoint: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """`flink run -py SCRIPT` against this cluster, with this interpreter for the Python workers."""
        host_port = self.rest_url.split("://", 1)[-1]
        cmd = [
            "bash", str(flink_home() / "bin" / "flink"), "run", "-m", host_port,
            *(["-d"] if detached else []),
            *(["-s", savepoint] if savepoint else []),
            "-py", str(script), "-pyexec", sys.executable, "-pyclientexec", sys.executable,
            *args,
        ]
        return subprocess.run(cmd, env={**os.environ, **(env or {})}, capture_output=True, text=True)


def failure_summary(cause: Any) -> str:
    """The last 'Caused by' line (else the first line) of a REST failure-cause."""
    trace = str((cause or {}).get("stack-trace", cause)) if isinstance(cause, dict) else str(cause)
    causes = [line.strip() for line in trace.splitlines() if line.startswith("Caused by")]
    return causes[-1] if causes else trace.splitlines()[0] if trace else "unknown"


def cli_error_summary(output: str, limit: int = 20) -> str:
    """The telling lines of a failed `flink run`: Python errors and Java causes, not stack frames."""
    markers = ("Error", "Exception", "Caused by", "Traceback", 'File "')
    lines = [line for line in output.splitlines() if not line.lstrip().startswith("at ")]
    telling = [line for line in lines if any(marker in line for marker in markers)]
    return "\n".join(telling[:limit]) or output[-2000:]


def parse_job_id(cli_output: str) -> str:
    """The id from the CLI's 'Job has been submitted with JobID <id>' line."""
    for line in cli_output.splitlines():
        if "JobID" in line:
            return line.rsplit(" ", 1)[-1].strip()
    raise ValueError(f"no JobID in flink CLI output: {cli_output[-500:]}")
