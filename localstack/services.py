"""The product's own processes in the local stack: track, api, sync, heartbeats, the demo load generator,
and the keeper of the Flink job. Each reads the same env settings it reads under compose."""

from __future__ import annotations

import os
import sys
import urllib.request
from dataclasses import dataclass, replace

from api_service.settings import Settings as ApiSettings
from contracts.settings import load_settings
from flink_service.cluster import FlinkCluster
from flink_service.savepoints import latest_savepoint
from flink_service.settings import Settings as JobSettings
from localstack.component import Component
from localstack.processes import log, require_free_port
from localstack.settings import StackSettings
from localstack.supervisor import Program
from sync_service.settings import Settings as SyncSettings
from track_service.settings import Settings as TrackSettings

SERVICE_SETTINGS = (TrackSettings, ApiSettings, SyncSettings, JobSettings, StackSettings)


def service_environment(settings: StackSettings) -> dict[str, str]:
    """The settings a product process reads, as set where the stack was started (supervisord's programs get
    them written into their config), plus where the local Flink cluster and the run folder are."""
    names = {name.upper() for cls in SERVICE_SETTINGS for name in cls.model_fields}
    return {
        **{name: value for name, value in os.environ.items() if name in names},
        "RUN_DIR": str(settings.run_dir.resolve()),
        "FLINK_REST_URL": f"http://localhost:{settings.flink_ui_port}",
        "PYTHONUNBUFFERED": "1",
    }


def job_settings(stack: StackSettings) -> JobSettings:
    """The metrics job's settings; locally it keeps its open windows across `make down` / `make dev`."""
    local_cluster = {"flink_rest_url": f"http://localhost:{stack.flink_ui_port}"}
    settings = load_settings(JobSettings).model_copy(update=local_cluster)
    if not settings.flink_savepoint_dir:
        savepoints = stack.run_dir / "flink" / "savepoints"
        settings = settings.model_copy(update={"flink_savepoint_dir": f"file://{savepoints.resolve()}"})
    return settings


@dataclass
class ServiceProcess(Component):
    """A `python -m MODULE` program with an optional HTTP health URL."""

    module: str = ""
    args: tuple[str, ...] = ()
    port: int | None = None
    health_path: str | None = None
    port_variable: str = ""

    def programs(self) -> list[Program]:
        return [Program(self.name, [sys.executable, "-m", self.module, *self.args], self.log_file,
                        environment=service_environment(self.settings))]

    def url(self) -> str:
        if self.port is None:
            return f"{self.module} (log: {self.log_file})"
        return f"http://localhost:{self.port}{self.health_path or ''}"

    def healthy(self) -> bool:
        state = self.supervisor.state(self.name)
        if self.port is None or self.health_path is None:
            return state == "RUNNING"  # up for supervisord's start time: it did not crash at start
        if state not in {"STARTING", "RUNNING"}:
            return False
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{self.health_path}", timeout=3) as response:
            return bool(response.status == 200)

    def prepare(self, programs: list[Program]) -> None:
        if self.port is not None:
            require_free_port(self.port, self.name, self.port_variable)


@dataclass
class FlinkJob(ServiceProcess):
    """The metrics job, kept running on the local cluster by `localstack.job_keeper` (a supervised program):
    it submits the job, resubmits it when the cluster lost it, and stops it with a savepoint when stopped."""

    module: str = "localstack.job_keeper"

    def url(self) -> str:
        return f"http://localhost:{self.settings.flink_ui_port}/#/job/running"

    def healthy(self) -> bool:
        settings = job_settings(self.settings)
        return bool(FlinkCluster(settings.flink_rest_url).running_jobs(settings.flink_job_name))

    def programs(self) -> list[Program]:
        # Stopping waits for the savepoint (up to 2 min) and for the job to end.
        return [replace(keeper, stop_wait_s=200) for keeper in super().programs()]

    def started(self) -> None:
        self.wait_healthy(timeout_s=300)  # the first submit ships the job's Python code: slow on a busy machine

    def stop(self) -> bool:
        if not super().stop():  # the keeper stops the job with a savepoint as it exits
            return False
        settings = job_settings(self.settings)
        savepoint = latest_savepoint(settings.flink_savepoint_dir, settings.flink_job_name)
        if savepoint:
            log(f"{self.name}: newest savepoint {savepoint} (the next `make dev` resumes from it)")
        return True
