"""The product's own processes in the local stack: track, api, sync, the Flink job, heartbeats
and the demo load generator. Each reads the same env settings it reads under compose."""

from __future__ import annotations

import os
import sys
import urllib.request
from dataclasses import dataclass

from contracts.settings import load_settings
from flink_service.cluster import FlinkCluster
from flink_service.settings import Settings as JobSettings
from localstack.component import Component
from localstack.flink import Flink
from localstack.processes import log, require_free_port, spawn


@dataclass
class ServiceProcess(Component):
    """A `python -m MODULE` process with a pid file and an HTTP health URL."""

    module: str = ""
    args: tuple[str, ...] = ()
    port: int | None = None
    health_path: str | None = None
    port_variable: str = ""

    def url(self) -> str:
        if self.port is None:
            return f"{self.module} (log: {self.log_file})"
        return f"http://localhost:{self.port}{self.health_path or ''}"

    def healthy(self) -> bool:
        if self.running_pid() is None:
            return False
        if self.port is None or self.health_path is None:
            return True
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{self.health_path}", timeout=3) as response:
            return bool(response.status == 200)

    def start(self) -> None:
        if self.port is not None:
            require_free_port(self.port, self.name, self.port_variable)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        spawn([sys.executable, "-m", self.module, *self.args], self.log_file, self.pid_file, env=env)


@dataclass
class FlinkJob(Component):
    """The metrics job on the local Flink cluster: `up` submits it unless it already runs."""

    def url(self) -> str:
        return f"http://localhost:{self.settings.flink_ui_port}/#/job/running"

    def _job_settings(self) -> JobSettings:
        settings = load_settings(JobSettings)
        if not settings.flink_savepoint_dir:
            # Locally the job keeps its open windows across `make down` / `make dev` by default.
            savepoints = self.settings.run_dir / "flink" / "savepoints"
            settings = settings.model_copy(update={"flink_savepoint_dir": f"file://{savepoints.resolve()}"})
        return settings

    def running_pid(self) -> int | None:
        return None

    def healthy(self) -> bool:
        settings = self._job_settings()
        return bool(FlinkCluster(settings.flink_rest_url).running_jobs(settings.flink_job_name))

    def up(self) -> bool:
        from flink_service.submit import submit

        settings = self._job_settings()
        already = self.safe_healthy()
        job_id = submit(settings, extra_env=Flink("flink", self.settings).client_env())
        restored = None if already else FlinkCluster(settings.flink_rest_url).restored_from(job_id)
        resumed = f", resumed from {restored}" if restored else ""
        log(f"{self.name}: {'already running' if already else 'submitted'} as {job_id}{resumed} at {self.url()}")
        return not already

    def stop(self) -> None:
        from flink_service.submit import stop

        try:
            locations = stop(self._job_settings())
        except OSError:
            log(f"{self.name}: Flink not reachable, nothing to stop")
            return
        for location in locations:
            log(f"{self.name}: stopped with savepoint {location} (the next `make dev` resumes from it)")
