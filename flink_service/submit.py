"""Submit the metrics job to the Flink cluster, unless a job of the same name already runs; or stop it.

    python -m flink_service.submit          # submit (resuming from the newest savepoint, if any)
    python -m flink_service.submit --stop   # stop with a savepoint (cancel when FLINK_SAVEPOINT_DIR is empty)

Waits (bounded) for the JobManager, then runs flink_service/job.py through `flink run -d` with
this interpreter for the Python workers. Exit 0 when the job runs (newly or already), 1 otherwise.
With FLINK_SAVEPOINT_DIR set, a job stopped with `--stop` resumes exactly where it stopped, open
windows included; without it, a resubmitted job starts over from its consumer group's offsets in
Kafka (the earliest retained event when none were committed) and recomputes the windows from there.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from contracts.events_topic import ensure_topic
from contracts.log_setup import setup_logging
from contracts.settings import load_settings
from contracts.waiting import waiting
from flink_service import job
from flink_service.cluster import TERMINAL_STATES, FlinkCluster, cli_error_summary, parse_job_id
from flink_service.savepoints import job_savepoint_dir, latest_savepoint
from flink_service.settings import Settings

log = logging.getLogger("flink_service.submit")


def wait_for_cluster(cluster: FlinkCluster, timeout_s: float) -> None:
    try:
        for attempt in waiting(f"the Flink JobManager at {cluster.rest_url}", log, (OSError,), timeout_s=timeout_s):
            with attempt:
                cluster.jobs()
    except OSError as error:  # urllib's URLError included
        raise SystemExit(f"Flink JobManager at {cluster.rest_url} did not answer: {error}") from None


def submit(
    settings: Settings, extra_env: dict[str, str] | None = None, timeout_s: float = 180, restore_from: str | None = None
) -> str:
    """Return the id of the running job, submitting it first when none of that name runs (from `restore_from`,
    a savepoint or retained checkpoint, when given, else from the newest savepoint, if any)."""
    cluster = FlinkCluster(settings.flink_rest_url)
    wait_for_cluster(cluster, timeout_s)
    running = cluster.running_jobs(settings.flink_job_name)
    if running:
        log.info("job %r already running as %s: not submitting a second copy", settings.flink_job_name,
                 running[0].job_id)
        return running[0].job_id
    # The job writes its late events there (a Kafka sink does not create its topic).
    ensure_topic(settings, timeout_s, settings.kafka_late_topic)
    savepoint = restore_from or latest_savepoint(settings.flink_savepoint_dir, settings.flink_job_name)
    log.info("submitting job %r to %s%s", settings.flink_job_name, settings.flink_rest_url,
             f", resuming from {savepoint}" if savepoint else "")
    done = cluster.run_python(Path(job.__file__), [], detached=True, env=extra_env, savepoint=savepoint)
    if done.returncode != 0:
        summary = cli_error_summary(done.stdout + "\n" + done.stderr)
        hint = (f"\nIt resumed from {savepoint}: if the job changed (e.g. WINDOW_SPECS), its state no longer fits;"
                " move that savepoint away to start without it.") if savepoint else ""
        raise SystemExit(f"flink run failed (exit {done.returncode}):\n{summary}{hint}")
    job_id = parse_job_id(done.stdout)
    state = cluster.wait_state(job_id, {"RUNNING", *TERMINAL_STATES}, timeout_s)
    if state != "RUNNING":
        raise SystemExit(f"job {job_id} is {state}, not RUNNING: see the Flink UI at {settings.flink_rest_url}")
    log.info("job %r running as %s (Flink UI: %s/#/job/running/%s)", settings.flink_job_name, job_id,
             settings.flink_rest_url, job_id)
    return job_id


def stop(settings: Settings) -> list[str]:
    """Stop every running job of this name, with a savepoint when a savepoint dir is set; returns
    the savepoint locations once those jobs have ended (so a submit right after starts a new one)."""
    cluster = FlinkCluster(settings.flink_rest_url)
    locations = []
    for running in cluster.running_jobs(settings.flink_job_name):
        if settings.flink_savepoint_dir:
            target = job_savepoint_dir(settings.flink_savepoint_dir, settings.flink_job_name)
            try:
                location = cluster.stop_with_savepoint(running.job_id, target)
                log.info("job %s stopped with savepoint %s", running.job_id, location)
                locations.append(location)
            except (RuntimeError, TimeoutError) as error:
                log.warning("%s; cancelling instead: the next submit recomputes from Kafka", error)
                cluster.cancel(running.job_id)
        else:
            cluster.cancel(running.job_id)
            log.info("job %s cancelled (no FLINK_SAVEPOINT_DIR: its open windows are not kept)", running.job_id)
        # The savepoint is complete before the job has switched to FINISHED: wait for the switch.
        cluster.wait_state(running.job_id, TERMINAL_STATES, timeout_s=60)
    return locations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flink_service.submit", description=__doc__.splitlines()[0])
    parser.add_argument("--stop", action="store_true", help="stop the job (with a savepoint) instead")
    args = parser.parse_args(argv)
    settings = load_settings(Settings)
    setup_logging(settings.log_level)
    if args.stop:
        stop(settings)
    else:
        submit(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
