"""CPU and pids of the stack's processes, read from /proc, and supervisord (bench_pipeline,
bench_flink, bench_single)."""

from __future__ import annotations

import os
from pathlib import Path

from harness.infra import RUN_DIR
from localstack.supervisor import Supervisor

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from `state` on; comm may hold spaces


def process_cpu_s(pid: int) -> float:
    """CPU seconds of one process, including the children it has reaped (0 when gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return (utime + stime + cutime + cstime) / CLOCK_TICKS


def descendants(root: int) -> list[int]:
    """`root` and every live process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_cpu_s(root: int) -> float:
    """CPU seconds of a process tree: live members plus what they reaped (no double counting)."""
    return sum(process_cpu_s(pid) for pid in descendants(root))


def supervised_pids(*programs: str) -> list[int]:
    """The pids of the local stack's programs that supervisord runs now."""
    supervisor = Supervisor(RUN_DIR)
    return [pid for program in programs if (pid := supervisor.pid(program))]
