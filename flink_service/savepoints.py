"""Where the job's savepoints live, so a stopped job resumes with its window state.

A stop writes its savepoint under `{FLINK_SAVEPOINT_DIR}/{FLINK_JOB_NAME}/`; the next submit of that
job name resumes from the newest one there. Only `file://` directories can be searched (the local
stack, or a volume shared by the JobManager, the TaskManagers and the submit container).
"""

from __future__ import annotations

from pathlib import Path


def job_savepoint_dir(base: str, job_name: str) -> str:
    return f"{base.rstrip('/')}/{job_name}"


def latest_savepoint(base: str, job_name: str) -> str | None:
    """The newest complete savepoint (a directory with `_metadata`) of this job name, as a URI;
    None when there is none or no savepoint dir is set (`base` empty)."""
    if not base:
        return None
    if not base.startswith("file://"):
        raise ValueError(f"FLINK_SAVEPOINT_DIR must be a file:// directory to search it, not {base!r}")
    directory = Path(job_savepoint_dir(base, job_name).removeprefix("file://"))
    complete = [path.parent for path in directory.glob("savepoint-*/_metadata")]
    if not complete:
        return None
    newest = max(complete, key=lambda path: path.stat().st_mtime)
    return f"file://{newest}"
