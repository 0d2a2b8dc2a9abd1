"""Keeps the metrics job running on the local Flink cluster: the `job` program of the local stack.

    python -m localstack.job_keeper    # run by supervisord; SIGTERM stops the job with a savepoint, then exits

When a TaskManager dies, Flink restarts the job by itself (its restart strategy) once supervisord has brought
a TaskManager back. A JobManager is another matter: without high availability a restarted JobManager knows no
jobs. So every few seconds the keeper checks that the job of FLINK_JOB_NAME runs and, when it does not,
submits it again from the newest of its savepoints and of the checkpoints its lost run left behind, so the
windows that were open carry on exactly (its Redis writes are idempotent upserts).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from contracts.log_setup import setup_logging
from contracts.settings import load_settings
from contracts.waiting import stop_on_signals
from flink_service.cluster import FlinkCluster
from flink_service.savepoints import latest_savepoint
from flink_service.settings import Settings as JobSettings
from flink_service.submit import stop, submit
from localstack.flink import Flink
from localstack.services import job_settings
from localstack.settings import StackSettings

POLL_S = 2.0
KEPT_RUNS = 5
log = logging.getLogger("localstack.job_keeper")


@dataclass
class Keeper:
    settings: JobSettings
    flink: Flink
    runs_file: Path  # the ids of the job's recent runs, whose checkpoints a resubmit may restore from

    @property
    def cluster(self) -> FlinkCluster:
        return FlinkCluster(self.settings.flink_rest_url)

    def runs(self) -> list[str]:
        try:
            return self.runs_file.read_text().split()
        except OSError:
            return []

    def remember(self, job_id: str) -> None:
        if job_id not in self.runs():
            self.runs_file.parent.mkdir(parents=True, exist_ok=True)
            self.runs_file.write_text("\n".join([*self.runs()[-(KEPT_RUNS - 1):], job_id]) + "\n")

    def restore_point(self) -> str | None:
        """The newest of the job's savepoints and of the completed checkpoints of its recent runs."""
        savepoint = latest_savepoint(self.settings.flink_savepoint_dir, self.settings.flink_job_name)
        candidates = [Path(savepoint.removeprefix("file://"))] if savepoint else []
        for job_id in self.runs():
            candidates += [done.parent for done in (self.flink.home / "checkpoints" / job_id).glob("chk-*/_metadata")]
        if not candidates:
            return None
        return f"file://{max(candidates, key=lambda path: (path / '_metadata').stat().st_mtime)}"

    def check(self) -> None:
        """Submit the job when it does not run, and remember each run (before it can take a checkpoint)."""
        running = self.cluster.running_jobs(self.settings.flink_job_name)
        if running:
            self.remember(running[0].job_id)
            return
        restore = self.restore_point()
        log.info("job %r is not running: submitting it%s", self.settings.flink_job_name,
                 f" from {restore}" if restore else "")
        self.remember(submit(self.settings, extra_env=self.flink.client_env(), restore_from=restore))


def main() -> int:
    stack = load_settings(StackSettings)
    settings = job_settings(stack)
    setup_logging(settings.log_level)
    keeper = Keeper(settings, Flink("flink", stack), stack.run_dir / "job" / "runs")
    stopping = stop_on_signals()
    log.info("keeping job %r running on %s", settings.flink_job_name, settings.flink_rest_url)
    while not stopping.is_set():
        try:
            keeper.check()
        # The JobManager is (re)starting, or a submit failed (submit exits with a message): try again.
        except (OSError, TimeoutError, SystemExit) as error:
            log.warning("job %r not running yet: %s", settings.flink_job_name, error)
        stopping.wait(POLL_S)
    try:
        stop(settings)
    except OSError as error:
        log.warning("could not stop job %r: Flink did not answer (%s)", settings.flink_job_name, error)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
