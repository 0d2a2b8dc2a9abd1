"""The chaos run: the scaled Compose stack under steady traffic for 10 minutes while random parts are killed,
one at a time, then the same verdict as the fault test. A command run by hand, not part of CI:

    make chaos                                   # engine, images, the run, `down -v` (scripts/compose_tier.sh)
    .venv/bin/python -m tests.compose.chaos --help

Each round: a quiet spell (20-40 s), then one victim picked at random among the three brokers, the two
TaskManagers, the track_service replicas and the api_service replicas, killed with SIGKILL, left dead for
10-40 s, started again, and waited for (healthy; a broker back in every ISR; the job running). WebSocket
clients on the gateway are replaced when their replica dies, as the dashboard reconnects; at each
api_service kill, the clients of the other replicas must get a window within a minute.

At the end: every event acknowledged with 202 is counted exactly once in /metrics/history and PostgreSQL
(the oracle), no WebSocket client ever received a window with other values than the oracle's, and the
clients that lived through the whole run received every window. `--record docs/docker.md` writes the
result there (between the chaos-result markers).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.figures import machine
from harness.compose_stack import ComposeStack, container_address
from harness.infra import REPO_ROOT
from tests.compose import faults
from tests.compose.faults import LiveWatcher, Timeline, Traffic
from tests.oracle import expected_windows

VICTIMS = ("broker", "taskmanager", "track_service", "api_service")
MARKERS = ("<!-- chaos-result:begin -->", "<!-- chaos-result:end -->")


@dataclass
class ChaosRun:
    stack: ComposeStack
    rng: random.Random
    watchers: list[LiveWatcher]
    ws_url: str
    timeline: Timeline
    types: tuple[str, ...]
    kills: Counter[str] = field(default_factory=Counter)
    survivors_kept_receiving: list[bool] = field(default_factory=list)

    def kill_one(self, traffic: Traffic) -> None:
        kind = self.rng.choice(VICTIMS)
        if kind == "broker":
            service = self.rng.choice(faults.BROKERS)
            victim = self.stack.container_ids(service)[0]
        else:
            victim = self.rng.choice(self.stack.container_ids(kind))
            service = kind
        address = container_address(victim)
        others = [w for w in self.watchers if w.closed_at is None and w.served_by != address]
        restarts = faults.job_restarts(self.stack)
        # A TaskManager back after an earlier loss stays idle (the job keeps running where it restarted):
        # killing it must not restart the job.
        runs_tasks = kind == "taskmanager" and faults.slots_in_use(self.stack).get(victim, 0) > 0
        faults.kill(victim)
        killed_at = time.monotonic()
        self.kills[kind] += 1
        idle = " (idle: it ran none of the job's tasks)" if kind == "taskmanager" and not runs_tasks else ""
        self.timeline.note(f"killed {service} ({victim[:12]}){idle}")
        if kind == "api_service":
            try:
                faults.wait_for(lambda: all(w.windows(self.types, after=killed_at) for w in others), 60,
                                "a window for the other replicas' WebSocket clients")
                self.survivors_kept_receiving.append(all(w.closed_at is None for w in others))
            except TimeoutError:
                self.survivors_kept_receiving.append(False)
        if runs_tasks:
            faults.wait_for(lambda: faults.job_restarts(self.stack) > restarts, 120, "the job restarted")
        time.sleep(max(0.0, self.rng.uniform(10, 40) - (time.monotonic() - killed_at)))
        faults.start(victim)
        self.timeline.note(f"started {service} again")
        faults.wait_healthy(self.stack, f"after {service} came back")
        if kind == "broker":
            faults.wait_for(lambda: faults.partitions_fully_replicated(self.stack), 120, f"{service} in every ISR")
        faults.wait_for(lambda: faults.job_running(self.stack), 180, "the job running")
        self.replace_closed_watchers()
        traffic.wait_acknowledged(100, 60, f"after {service} came back")

    def replace_closed_watchers(self) -> None:
        for index, watcher in enumerate(self.watchers):
            if watcher.closed_at is not None:
                self.watchers.append(LiveWatcher(self.ws_url))
                self.watchers[index] = self.watchers.pop()


def run(stack: ComposeStack, minutes: float, rate: float, seed: int) -> tuple[str, str]:
    """(the result, the timeline)"""
    rng = random.Random(seed)
    types = faults.event_types("chaos", 8)
    ws_url = stack.url("API_PORT").replace("http://", "ws://", 1) + "/live-metrics"
    first = [LiveWatcher(ws_url) for _ in range(4)]
    chaos = ChaosRun(stack, rng, list(first), ws_url, Timeline(), types)
    traffic = Traffic(stack.url("TRACK_PORT"), stack.write_headers, types, rate=rate, seed=seed).start()
    restarts_before = faults.job_restarts(stack)
    ends = time.monotonic() + minutes * 60
    try:
        while time.monotonic() < ends - 60:
            time.sleep(min(rng.uniform(20, 40), max(0.0, ends - time.monotonic() - 60)))
            if time.monotonic() < ends - 60:
                chaos.kill_one(traffic)
        time.sleep(max(0.0, ends - time.monotonic()))
    finally:
        traffic.stop()
        chaos.timeline.note("traffic stopped")
    seconds = time.monotonic() - chaos.timeline.started
    verdict = faults.verify_windows(stack, traffic.accepted, types)
    expected = expected_windows(traffic.accepted, faults.SPECS)
    every = [*first, *(w for w in chaos.watchers if w not in first)]
    wrong = sum(len(faults.live_windows_match(w, expected, types).differing) for w in every)
    whole = [w for w in first if w.closed_at is None]
    missed = sum(faults.live_windows_match(w, expected, types).mismatches for w in whole)
    kills = ", ".join(f"{kind} {chaos.kills[kind]}" for kind in VICTIMS)
    kept = chaos.survivors_kept_receiving
    return "\n".join([
        f"- {seconds / 60:.1f} minutes of traffic, {sum(chaos.kills.values())} kills one at a time ({kills}), "
        "each victim started again after 10-40 s",
        f"- traffic through the gateway: {traffic.report.summary()}",
        f"- windows: {verdict.expected_windows} expected; mismatches: /metrics/history {verdict.history.mismatches}, "
        f"PostgreSQL {verdict.postgres.mismatches}; WebSocket: {wrong} windows with wrong values, {missed} missed "
        f"by the {len(whole)} clients connected throughout",
        f"- at each api_service kill the other replicas' WebSocket clients kept receiving: "
        f"{sum(kept)} of {len(kept)}",
        f"- job restarts (TaskManager and broker losses): {faults.job_restarts(stack) - restarts_before}",
        f"- verdict: {'PASS' if verdict.mismatches == wrong == missed == 0 and all(kept) else 'FAIL'}",
    ]), chaos.timeline.text()


def record(path: Path, result: str, minutes: float, seed: int) -> None:
    """Replace the text between the chaos-result markers of `path` with this run's result."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                            text=True).stdout.strip()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    box = machine()
    header = (f"Last run: {datetime.now(UTC):%d %b %Y %H:%M} UTC, commit {commit}, `make chaos` ({minutes:g} min, "
              f"seed {seed}), on {box['nproc']} cores ({box['cpu']}, {box['memory']}) shared with other test runs "
              f"(load average {load} at the end):")
    text = path.read_text()
    begin, end = MARKERS
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    assert pattern.search(text), f"{path} has no {begin} ... {end} markers"
    path.write_text(pattern.sub(lambda _: f"{begin}\n{header}\n\n{result}\n{end}", text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.compose.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=40, help="events/s (windows stay under 200 events per type)")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--record", type=Path, default=None, help="write the result into this file (docs/docker.md)")
    parser.add_argument("--keep", action="store_true", help="leave the stack up afterwards")
    args = parser.parse_args(argv)
    stack = ComposeStack.scaled(os.environ.get("COMPOSE_PROJECT_NAME", f"ra-chaos-{os.getpid()}") + "-scale")
    stack.down()
    try:
        started = time.monotonic()
        stack.up()
        print(f"[chaos] scaled stack up in {time.monotonic() - started:.0f} s; seed {args.seed}", flush=True)
        result, timeline = run(stack, args.minutes, args.rate, args.seed)
    except BaseException:
        print(stack.failure_report(), file=sys.stderr)
        raise
    finally:
        if not args.keep:
            stack.down()
        stack.close()
    print(f"[chaos] timeline:\n{timeline}\n[chaos] result:\n{result}", flush=True)
    if args.record:
        record(args.record, result, args.minutes, args.seed)
        print(f"[chaos] recorded in {args.record}")
    return 0 if "verdict: PASS" in result else 1


if __name__ == "__main__":
    sys.exit(main())
