"""The local Flink session cluster (the distribution inside the apache-flink wheel): a JobManager and a
TaskManager, each a supervised program in the foreground, both in the run folder (see `programs`)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import urllib.request
from pathlib import Path

from flink_service.cluster import flink_home
from localstack.component import Component
from localstack.processes import StackError, live_pids, require_free_port, require_tool
from localstack.settings import FLINK_CONNECTOR_LIBS
from localstack.supervisor import ACTIVE_STATES, Program

TASKMANAGER_CLASS = "TaskManagerRunner"  # in the command line of a TaskManager process


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
            Program(name, ["bash", str(bin_dir / script), "start-foreground"], self.log_dir / f"{role}.out",
                    directory=self.home, environment=env, pid_file=self._pid_file(role), pid_marker=main_class)
            for name, script, role, main_class in (
                ("jobmanager", "jobmanager.sh", "standalonesession", "StandaloneSessionClusterEntrypoint"),
                ("taskmanager", "taskmanager.sh", "taskexecutor", TASKMANAGER_CLASS))
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

    def _pid_file(self, role: str) -> Path:
        """Flink's own pid file of the role (its start scripts write one in FLINK_PID_DIR)."""
        found = sorted(self.home.glob(f"flink-*-{role}.pid"))
        return found[0] if found else self.home / f"flink-{os.environ.get('USER', '')}-{role}.pid"

    def write_config(self) -> None:
        import yaml

        home = flink_home()
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        for item in (home / "conf").iterdir():
            if item.name != "config.yaml":
                shutil.copy2(item, self.conf_dir / item.name)
        config = yaml.safe_load((home / "conf" / "config.yaml").read_text())
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
        }
        for dotted, value in overrides.items():
            config[dotted] = value
        # Flink reads flattened keys as well as nested ones; drop nested twins of what we override.
        for dotted in overrides:
            head, _, rest = dotted.partition(".")
            node = config.get(head)
            parts = rest.split(".")
            while isinstance(node, dict) and len(parts) > 1:
                node = node.get(parts.pop(0))
            if isinstance(node, dict):
                node.pop(parts[0], None)
        (self.conf_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        self.lib_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for jar in self.lib_dir.glob("*.jar"):
            jar.unlink()
        for jar in [*(home / "lib").glob("*.jar"), *FLINK_CONNECTOR_LIBS.glob("*.jar")]:
            (self.lib_dir / jar.name).symlink_to(jar)

    def prepare(self, programs: list[Program]) -> None:
        require_tool("java", "Java", "install a JDK 17 (apt-get install openjdk-17-jre-headless)")
        if not any(FLINK_CONNECTOR_LIBS.glob("flink-sql-connector-kafka-*.jar")):
            raise StackError(f"Flink Kafka connector missing in {FLINK_CONNECTOR_LIBS}: run `make setup`")
        if any(program.name == "jobmanager" for program in programs):
            require_free_port(self.settings.flink_ui_port, "Flink REST/web UI", "FLINK_UI_PORT")
            require_free_port(self.settings.flink_rpc_port, "Flink JobManager RPC", "FLINK_RPC_PORT")
            self.write_config()

    def taskmanager_pids(self) -> list[int]:
        """Every live TaskManager process (Flink's pid file lists one per line)."""
        return live_pids(self._pid_file("taskexecutor"), TASKMANAGER_CLASS)

    def start_taskmanager(self) -> None:
        """Start a TaskManager, unless supervisord runs one (after a crash it brings it back by itself)."""
        if self.supervisor.state("taskmanager") not in ACTIVE_STATES:
            self.supervisor.start([program for program in self.programs() if program.name == "taskmanager"])
