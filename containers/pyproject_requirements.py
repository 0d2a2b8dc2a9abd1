"""Print the project's runtime dependencies from pyproject.toml, one requirement a line.

Both images install exactly this list (the `[project] dependencies` the local stack's venv gets
from `pip install -e .`), in a layer of its own that only changes when pyproject.toml does.
Standard library only: it runs in the build stages before anything is installed.

    python pyproject_requirements.py pyproject.toml > requirements.txt
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def runtime_requirements(pyproject: Path) -> list[str]:
    with pyproject.open("rb") as handle:
        data = tomllib.load(handle)
    requirements = data.get("project", {}).get("dependencies")
    if not requirements:
        raise SystemExit(f"{pyproject}: no [project] dependencies found")
    return [str(requirement) for requirement in requirements]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: pyproject_requirements.py PATH/TO/pyproject.toml", file=sys.stderr)
        return 2
    print("\n".join(runtime_requirements(Path(argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
