"""The local stack: real Kafka (KRaft), Flink, Redis and PostgreSQL and the product's services, supervised.

    python -m localstack.stack up | down | status | logs [COMPONENT]

Every part runs in the foreground under one supervisord per run folder (`RUN_DIR`, default `.run/` in the
repo; it holds data, configs and logs too), which restarts whatever dies. `up` starts parts in dependency
order, each once the parts it needs are healthy; it is idempotent: a part already running is reported, not
started twice, and `up X` first starts what X needs (`up track` starts Kafka too). `down X` stops only X;
`down` stops everything (the Flink job with a savepoint first) and supervisord with it. Ports, passwords
and paths come from the same env names compose uses.
"""

from __future__ import annotations

import argparse
import json
import sys

from contracts.settings import load_settings
from localstack.graph import GROUPS, selected
from localstack.processes import StackError, log
from localstack.settings import StackSettings
from localstack.supervisor import Supervisor
from track_service.settings import Settings as TrackSettings


def cmd_up(settings: StackSettings, names: list[str]) -> int:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    chosen = selected(settings, names, with_needs=True)
    started = []
    for component in chosen:
        if component.up():
            started.append(component.name)
        # Record as we go: a failure later must still let `down` find what this run started.
        (settings.run_dir / "started.json").write_text(json.dumps(started))
    if not started:
        log("already running: nothing to start")
    log("ready:")
    for component in chosen:
        log(f"  {component.name:9} {component.url()}")
    if "api" in {c.name for c in chosen}:
        log(f"  dashboard http://localhost:{settings.api_port}/static/index.html")
        log(f"  API docs  http://localhost:{settings.api_port}/docs")
        log(f"  ingest    http://localhost:{settings.track_port}/docs")
    if "track" in {c.name for c in chosen} and not load_settings(TrackSettings).api_keys:
        log("  writes    open to anyone: no write key (TRACK_API_KEYS sets some; Compose makes one)")
    log(f"  logs      {settings.run_dir}/<component>/   (make logs, make status, make down)")
    return 0


def cmd_down(settings: StackSettings, names: list[str]) -> int:
    for component in reversed(selected(settings, names)):
        component.stop()
    return 0


def cmd_status(settings: StackSettings, names: list[str]) -> int:
    all_ok = True
    for component in selected(settings, names):
        ok = component.safe_healthy()
        all_ok &= ok
        state = "healthy" if ok else ("unhealthy" if component.running() else "stopped")
        print(f"{component.name:9} {state:9} {component.describe():36} {component.url()}")
    return 0 if all_ok else 1


def cmd_logs(settings: StackSettings, names: list[str]) -> int:
    chosen = selected(settings, names)
    log_files = [program.log_file for component in chosen for program in component.programs()]
    if not names:
        log_files.append(Supervisor(settings.run_dir).log_file)  # every start, exit and restart
    for log_file in log_files:
        print(f"==> {log_file} <==")
        if log_file.exists():
            print("\n".join(log_file.read_text(errors="replace").splitlines()[-40:]))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stack", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status", "logs"])
    parser.add_argument(
        "components", nargs="*",
        help=f"groups {', '.join(GROUPS)} or components {', '.join(GROUPS['all'])} (default: all)",
    )
    args = parser.parse_args(argv)
    settings = load_settings(StackSettings)
    unknown = set(args.components) - set(GROUPS) - set(GROUPS["all"])
    if unknown:
        parser.error(f"unknown component(s) {sorted(unknown)}: choose from {', '.join([*GROUPS, *GROUPS['all']])}")
    commands = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "logs": cmd_logs}
    try:
        return commands[args.command](settings, args.components)
    except StackError as error:
        print(f"[stack] error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
