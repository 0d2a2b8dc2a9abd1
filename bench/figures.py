"""What the benchmarks share among themselves: percentiles, the machine, and how they report.

Each benchmark returns a dataclass of its figures whose `summary_rows()` are its lines of the `make bench`
table. `publish` prints those and every figure, and writes them with `--json`; `bench.run_all` reads that
back typed (`read_result`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

import msgspec

Row = list[str]  # benchmark, figure, reference, ratio, notes
TABLE_HEADER = "| benchmark | figure | reference (same run) | ratio | notes |\n|---|---:|---|---:|---|"


class Result(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Any]]  # a dataclass

    def summary_rows(self) -> list[Row]: ...


ResultT = TypeVar("ResultT")


def publish(result: Result, json_path: Path | None) -> None:
    """Print the context, the benchmark's rows of the `make bench` table and every figure; write them as JSON."""
    info = machine()
    main_spec = getattr(sys.modules["__main__"], "__spec__", None)
    command = f"python -m {main_spec.name if main_spec else sys.argv[0]} {' '.join(sys.argv[1:])}".strip()
    print(f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {load_average():.1f}\n"
          f"- machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM, {info['system']}, "
          f"Python {info['python']}\n- command: `{command}`\n\n{TABLE_HEADER}")  # fmt: skip
    for row in result.summary_rows():
        print(table_line(row))
    # json (not msgspec) writes NaN, which a figure is when there was nothing to measure.
    figures = json.dumps(dataclasses.asdict(result), indent=2)
    print(f"\nevery figure:\n{figures}")
    if json_path:
        json_path.write_text(figures)


def read_result(path: Path, result_type: type[ResultT]) -> ResultT:
    """The figures a benchmark wrote, checked against its result type."""
    return msgspec.convert(json.loads(path.read_text()), type=result_type)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def load_average() -> float:
    return os.getloadavg()[0]


def table_line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def number(value: float, unit: str = "") -> str:
    return f"{value:,.0f}{unit}"


def ratio(value: float) -> str:
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"


def machine() -> dict[str, str]:
    cpu, memory = "unknown CPU", "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))  # fmt: skip
        kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))  # fmt: skip
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "memory": memory,
            "system": f"{platform.system()} {platform.release()}", "python": platform.python_version()}  # fmt: skip
