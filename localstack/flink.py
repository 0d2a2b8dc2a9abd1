"""The local Flink session cluster (the distribution inside the apache-flink wheel): a JobManager and a
TaskManager, each a supervised program in the foreground, both in the run folder (see `programs`)."""

from __future__ import annotations

import json
import shutil
import sys
import urllib.request
from pathlib import Path
from typing import Any

from flink_service.cluster import flink_home
from localstack.component import Component
from localstack.processes import StackError, require_free_port, require_java
from localstack.settings import FLINK_CONNECTOR_LIBS
from localstack.supervisor import Program

# What a TaskManager killed outright leaves behind besides its directory: the PyFlink workers it forked, idle
# on with their parent gone. Before a TaskManager starts none of this folder's workers can be another's. `$$` is
# the shell, whose own command line holds the pattern.
_END_ORPHANED_WORKERS = (
    'for pid in $(pgrep -f "pyflink-udf-runner|fn_execution.beam.beam_boot"); do '
    '[ "$pid" != "$$" ] && [ "$(readlink "/proc/$pid/cwd")" = "$(pwd -P)" ] && kill -9 "$pid" 2>/dev/null; done; '
)


def _foreground(script: Path, role: str, before: str = "") -> list[str]:
    """A JobManager's or TaskManager's command, its temporary files (`io.tmp.dirs`: its working directory with
    blobs and local state, up to a GB; spill files, RPC jars) in `tmp/{role}` of the run folder. Before it becomes
    the process (exec: supervisord's pid is the JVM's), it clears what one of its kind killed outright left there,
    and runs `before`."""
    return ["bash", "-c", f'rm -rf "tmp/{role}" && mkdir -p "tmp/{role}" && {before}'
                          f'exec bash "$0" start-foreground -D "io.tmp.dirs=$(pwd -P)/tmp/{role}"', str(script)]


class Flink(Component):
    """A standalone session cluster from the distribution inside the apache-flink wheel."""

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def lib_dir(self) -> Path:
        return self.home / "lib"

    @property
    def log_dir(self) -> Path:
        return self.home / "log"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "standalonesession.out"

    def url(self) -> str:
        return f"http://localhost:{self.settings.flink_ui_port}"

    def programs(self) -> list[Program]:
        env = {**self.client_env(), "FLINK_LOG_DIR": str(self.log_dir), "FLINK_PID_DIR": str(self.home)}
        bin_dir = flink_home() / "bin"
        # In the run folder, not a checkout: a PyFlink worker imports from its working directory first.
        return [
            Program("jobmanager", _foreground(bin_dir / "jobmanager.sh", "jobmanager"),
                    self.log_dir / "standalonesession.out", directory=self.home, environment=env),
            Program("taskmanager", _foreground(bin_dir / "taskmanager.sh", "taskmanager", _END_ORPHANED_WORKERS),
                    self.log_dir / "taskexecutor.out", directory=self.home, environment=env),
        ]

    def client_env(self) -> dict[str, str]:
        """What the `flink` CLI needs to submit here: this conf dir and the lib dir with the connector."""
        return {"FLINK_CONF_DIR": str(self.conf_dir), "FLINK_LIB_DIR": str(self.lib_dir)}

    def overview(self) -> dict[str, object]:
        with urllib.request.urlopen(f"{self.url()}/overview", timeout=3) as response:
            data: dict[str, object] = json.load(response)
            return data

    def healthy(self) -> bool:
        taskmanagers = self.overview().get("taskmanagers", 0)
        return isinstance(taskmanagers, int) and taskmanagers >= 1

    def write_config(self) -> None:
        import yaml

        home = flink_home()
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        for item in (home / "conf").iterdir():
            if item.name != "config.yaml":
                shutil.copy2(item, self.conf_dir / item.name)
        s = self.settings
        python = sys.executable
        overrides: dict[str, object] = {
            "rest.port": s.flink_ui_port,
            # Every port the cluster listens on is set here: several stacks can run side by side.
            "jobmanager.rpc.port": s.flink_rpc_port,
            "blob.server.port": "0",
            "taskmanager.rpc.port": "0",
            "taskmanager.data.port": 0,
            "metrics.internal.query-service.port": "0",
            # A TaskManager that died is noticed after two failed heartbeats (its RPCs fail at once), not
            # after the 50 s heartbeat timeout: the job then restarts on the one supervisord brought back.
            "heartbeat.interval": "2s",
            "rest.address": "localhost",
            "rest.bind-address": "localhost",
            "taskmanager.numberOfTaskSlots": s.flink_task_slots,
            "taskmanager.memory.process.size": s.flink_taskmanager_memory,
            "jobmanager.memory.process.size": "1024m",
            "execution.checkpointing.dir": f"file://{self.home / 'checkpoints'}",
            "execution.checkpointing.interval": f"{s.flink_checkpoint_interval_s}s",
            "state.backend.type": "hashmap",
            "restart-strategy.type": "fixed-delay",
            "restart-strategy.fixed-delay.attempts": 1000,
            "restart-strategy.fixed-delay.delay": "2s",
            "python.executable": python,
            "python.client.executable": python,
            "python.fn-execution.bundle.time": 100,
            "env.pid.dir": str(self.home),
            # In the run folder, not /tmp: a process killed outright leaves its temporary files behind. The
            # JobManager and TaskManager each get a folder of their own in it (`_foreground`), cleared when they
            # start; this one is the `flink run` client's.
            "io.tmp.dirs": str(self.home / "tmp"),
        }
        config = {**flattened(yaml.safe_load((home / "conf" / "config.yaml").read_text())), **overrides}
        (self.conf_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        self.lib_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        (self.home / "tmp").mkdir(exist_ok=True)
        for jar in self.lib_dir.glob("*.jar"):
            jar.unlink()
        for jar in [*(home / "lib").glob("*.jar"), *FLINK_CONNECTOR_LIBS.glob("*.jar")]:
            (self.lib_dir / jar.name).symlink_to(jar)

    def prepare(self, programs: list[Program]) -> None:
        require_java()
        if not any(FLINK_CONNECTOR_LIBS.glob("flink-sql-connector-kafka-*.jar")):
            raise StackError(f"Flink Kafka connector missing in {FLINK_CONNECTOR_LIBS}: run `make setup`")
        if any(program.name == "jobmanager" for program in programs):
            require_free_port(self.settings.flink_ui_port, "Flink REST/web UI", "FLINK_UI_PORT")
            require_free_port(self.settings.flink_rpc_port, "Flink JobManager RPC", "FLINK_RPC_PORT")
            self.write_config()


def flattened(node: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested YAML keys as dotted ones (Flink reads both), so that an override replaces its default."""
    flat: dict[str, Any] = {}
    for key, value in node.items():
        flat.update(flattened(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return flat
