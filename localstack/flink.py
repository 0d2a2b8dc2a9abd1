"""The local Flink session cluster (the distribution inside the apache-flink wheel), and its healing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from flink_service.cluster import flink_home
from localstack.component import Component
from localstack.processes import StackError, log, pid_alive, require_free_port, require_tool, stop_pid
from localstack.settings import FLINK_CONNECTOR_LIBS


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
        logs = sorted(self.log_dir.glob("flink-*-standalonesession-*.log"))
        return logs[-1] if logs else self.log_dir / "jobmanager.log"

    def url(self) -> str:
        return f"http://localhost:{self.settings.flink_ui_port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **self.client_env(),
            "FLINK_LOG_DIR": str(self.log_dir),
            "FLINK_PID_DIR": str(self.home),
        }

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

    def _pids(self, role: str) -> list[int]:
        pid_file = self.home / f"flink-{os.environ.get('USER', 'root')}-{role}.pid"
        if not pid_file.exists():
            found = list(self.home.glob(f"flink-*-{role}.pid"))
            pid_file = found[0] if found else pid_file
        try:
            pids = [int(line) for line in pid_file.read_text().split()]
        except (OSError, ValueError):
            return []
        return [pid for pid in pids if pid_alive(pid)]

    def running_pid(self) -> int | None:
        pids = self._pids("standalonesession")
        return pids[0] if pids else None

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

    def start(self) -> None:
        require_tool("java", "Java", "install a JDK 17 (apt-get install openjdk-17-jre-headless)")
        if not any(FLINK_CONNECTOR_LIBS.glob("flink-sql-connector-kafka-*.jar")):
            raise StackError(f"Flink Kafka connector missing in {FLINK_CONNECTOR_LIBS}: run `make setup`")
        require_free_port(self.settings.flink_ui_port, "Flink REST/web UI", "FLINK_UI_PORT")
        self.write_config()
        bin_dir = flink_home() / "bin"
        for script in ("jobmanager.sh", "taskmanager.sh"):
            done = subprocess.run(["bash", str(bin_dir / script), "start"], env=self.env(), cwd=self.home,
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise StackError(f"flink {script} start failed: {done.stderr.strip()[-500:]}")

    def up(self) -> bool:
        # A TaskManager can die on its own (PyFlink's Python workers have crashed one while a job was
        # cancelled, "Reference count must not be negative"): bring a new one up beside the JobManager.
        if self.running_pid() is not None and not self._taskmanager_registered():
            log("flink: the JobManager runs without a TaskManager: starting one")
            self.start_taskmanager()
            self.wait_healthy()
            return True
        return super().up()

    def _taskmanager_registered(self, grace_s: float = 30) -> bool:
        """Whether a TaskManager is registered; while none is but one's process lives (starting, or
        dying after a crash), wait up to `grace_s` to see which."""
        def registered() -> bool | None:  # None: undecided yet
            if self.safe_healthy():
                return True
            return None if self.taskmanager_pids() else False

        decided = Retrying(stop=stop_after_delay(grace_s), wait=wait_fixed(0.5),
                           retry=retry_if_result(lambda answer: answer is None),
                           retry_error_callback=lambda state: False)
        return bool(decided(registered))

    def start_taskmanager(self) -> None:
        subprocess.run(["bash", str(flink_home() / "bin" / "taskmanager.sh"), "start"], env=self.env(), cwd=self.home,
                       check=True, capture_output=True)

    def taskmanager_pids(self) -> list[int]:
        return self._pids("taskexecutor")

    def stop(self) -> None:
        if self.running_pid() is None and not self.taskmanager_pids():
            log(f"{self.name}: not running")
            return
        bin_dir = flink_home() / "bin"
        for script in ("taskmanager.sh", "jobmanager.sh"):
            subprocess.run(["bash", str(bin_dir / script), "stop-all" if script == "taskmanager.sh" else "stop"],
                           env=self.env(), capture_output=True, text=True)
        for pid in self.taskmanager_pids():
            stop_pid(pid, "flink taskmanager", 10)
        log(f"{self.name}: stopped")

