"""The local stack: real Kafka (KRaft), Flink, Redis and PostgreSQL as plain processes.

    python -m localstack.stack up | down | status | logs [COMPONENT]

Everything lives in one run folder (`RUN_DIR`, default `.run/` in the repo): data, configs,
pid files and logs. `up` is idempotent: a component already running and healthy is reported,
not started twice, and `up X` first starts what X needs (`up track` starts Kafka too); `down X` stops
only X. Ports, passwords and paths come from the same env names compose uses.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from contracts.settings import KafkaSettings, PostgresSettings, RedisSettings, load_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
KAFKA_LIBS = REPO_ROOT / "localstack" / "target" / "kafka-libs"
FLINK_CONNECTOR_LIBS = REPO_ROOT / "localstack" / "target" / "flink-libs"
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


class StackSettings(KafkaSettings, RedisSettings, PostgresSettings):
    run_dir: Path = Field(default=REPO_ROOT / ".run")
    kafka_controller_port: int = Field(default=9093, ge=1, le=65535)
    flink_ui_port: int = Field(default=8081, ge=1, le=65535)
    # Tests run several jobs side by side on the one local TaskManager.
    flink_task_slots: int = Field(default=4, ge=1)
    flink_taskmanager_memory: str = Field(default="2560m", pattern=r"^[0-9]+[mg]$")
    flink_checkpoint_interval_s: int = Field(default=10, ge=1)
    kafka_heap: str = "512m"
    # The product's own processes (same env names as their services read).
    track_port: int = Field(default=8001, ge=1, le=65535)
    api_port: int = Field(default=8000, ge=1, le=65535)
    sync_metrics_port: int = Field(default=9108, ge=0, le=65535)
    loadgen_rate: float = Field(default=20, ge=0, description="Demo traffic of `make dev`, events/s; 0 = none.")

    @property
    def kafka_port(self) -> int:
        first = self.kafka_bootstrap_servers.split(",")[0]
        return int(first.rsplit(":", 1)[1])


class StackError(RuntimeError):
    """A failure with a one-line explanation for the user."""


def log(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for(what: str, check: Callable[[], bool], timeout_s: float, log_file: Path | None = None) -> None:
    """Poll `check` until it is true; fail with the log's tail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    delay = 0.2
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # the dependency is still coming up
            pass
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)
    hint = ""
    if log_file and log_file.exists():
        tail = log_file.read_text(errors="replace").splitlines()[-15:]
        hint = "\n  last log lines:\n    " + "\n    ".join(tail)
    raise StackError(f"{what} did not become healthy within {timeout_s:.0f}s (log: {log_file}){hint}")


def pid_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie (exited, not yet reaped by its parent) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # Reap it if it is our own child, so it does not linger as a zombie.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid_alive(pid) else None


def stop_pid(pid: int, name: str, timeout_s: float = 30) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.2)
    if pid_alive(pid):
        log(f"{name} did not stop on SIGTERM, killing it")
        os.kill(pid, signal.SIGKILL)


def spawn(cmd: list[str], log_file: Path, pid_file: Path, env: dict[str, str] | None = None) -> int:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=env, cwd=REPO_ROOT,
        )
    pid_file.write_text(str(proc.pid))
    return proc.pid


def require_free_port(port: int, name: str, variable: str) -> None:
    if port_open(port):
        raise StackError(
            f"port {port} needed by {name} is already taken by another process: "
            f"stop that process or set {variable} to a free port"
        )


def require_tool(path: str | Path, what: str, fix: str) -> None:
    if not (Path(path).exists() or shutil.which(str(path))):
        raise StackError(f"{what} not found ({path}): {fix}")


def as_postgres_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its commands as Debian's `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class Component:
    name: str
    settings: StackSettings

    @property
    def home(self) -> Path:
        return self.settings.run_dir / self.name

    @property
    def log_file(self) -> Path:
        return self.home / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.home / f"{self.name}.pid"

    def running_pid(self) -> int | None:
        return read_pid(self.pid_file)

    def healthy(self) -> bool:
        raise NotImplementedError

    def url(self) -> str:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        pid = self.running_pid()
        if pid is None:
            log(f"{self.name}: not running")
            return
        stop_pid(pid, self.name)
        self.pid_file.unlink(missing_ok=True)
        log(f"{self.name}: stopped")

    def up(self) -> bool:
        """Start unless running; returns True when this call started it."""
        pid = self.running_pid()
        if pid is not None and self.safe_healthy():
            log(f"{self.name}: already running (pid {pid}) at {self.url()}")
            return False
        if pid is not None:
            log(f"{self.name}: running (pid {pid}) but not healthy yet, waiting")
            self.wait_healthy()
            return False
        self.home.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        self.start()
        self.wait_healthy()
        log(f"{self.name}: started in {time.monotonic() - started:.1f}s at {self.url()}")
        return True

    def safe_healthy(self) -> bool:
        try:
            return self.healthy()
        except Exception:
            return False

    def wait_healthy(self, timeout_s: float = 120) -> None:
        wait_for(self.name, self.healthy, timeout_s, self.log_file)


class Redis(Component):
    def url(self) -> str:
        return f"redis://:***@127.0.0.1:{self.settings.redis_port}"

    def healthy(self) -> bool:
        import redis

        client = redis.Redis(
            host="127.0.0.1", port=self.settings.redis_port, password=self.settings.redis_password or None
        )
        try:
            return bool(client.ping())
        finally:
            client.close()

    def start(self) -> None:
        require_tool("redis-server", "redis-server", "run `make setup` (installs Debian's redis-server)")
        require_free_port(self.settings.redis_port, "Redis", "REDIS_PORT")
        cmd = [
            "redis-server", "--port", str(self.settings.redis_port), "--bind", "127.0.0.1",
            "--dir", str(self.home), "--daemonize", "no", "--save", "", "--appendonly", "no",
        ]
        if self.settings.redis_password:
            cmd += ["--requirepass", self.settings.redis_password]
        spawn(cmd, self.log_file, self.pid_file)


class Postgres(Component):
    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    def url(self) -> str:
        s = self.settings
        return f"postgresql://{s.postgres_user}:***@127.0.0.1:{s.postgres_port}/{s.postgres_db}"

    def running_pid(self) -> int | None:
        return read_pid(self.data_dir / "postmaster.pid")

    def _psql(self, database: str, sql: str) -> subprocess.CompletedProcess[str]:
        s = self.settings
        env = {**os.environ, "PGPASSWORD": s.postgres_password}
        return subprocess.run(
            [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(s.postgres_port), "-U", s.postgres_user,
             "-d", database, "-tAc", sql],
            env=env, capture_output=True, text=True, timeout=10,
        )

    def healthy(self) -> bool:
        return self._psql(self.settings.postgres_db, "select 1").stdout.strip() == "1"

    def start(self) -> None:
        require_tool(PG_BIN / "postgres", "PostgreSQL 15", "run `make setup` (installs Debian's postgresql-15)")
        require_free_port(self.settings.postgres_port, "PostgreSQL", "POSTGRES_PORT")
        s = self.settings
        if os.geteuid() == 0:
            # The postgres user must be able to reach its data dir through the run folder.
            for parent in [self.home, *self.home.parents]:
                if parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o011)
            shutil.chown(self.home, "postgres", "postgres")
        if not (self.data_dir / "PG_VERSION").exists():
            pwfile = self.home / "pwfile"
            pwfile.write_text(s.postgres_password + "\n")
            if os.geteuid() == 0:
                shutil.chown(pwfile, "postgres", "postgres")
            pwfile.chmod(0o600)
            subprocess.run(
                as_postgres_user([str(PG_BIN / "initdb"), "-D", str(self.data_dir), "-U", s.postgres_user,
                                  f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8",
                                  "--locale=C.UTF-8"]),
                check=True, capture_output=True, text=True,
            )
            pwfile.unlink()
        subprocess.run(
            as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file),
                              "-o", f"-p {s.postgres_port} -k {self.home} -c listen_addresses=127.0.0.1",
                              "-w", "-t", "60", "start"]),
            check=True, capture_output=True, text=True,
        )
        wait_for("PostgreSQL server", lambda: self._psql("postgres", "select 1").returncode == 0, 60,
                 self.log_file)
        exists = self._psql("postgres", f"select 1 from pg_database where datname = '{s.postgres_db}'")
        if exists.stdout.strip() != "1":
            created = self._psql("postgres", f'create database "{s.postgres_db}"')
            if created.returncode != 0:
                raise StackError(f"could not create database {s.postgres_db}: {created.stderr.strip()}")

    def stop(self) -> None:
        if self.running_pid() is None:
            log(f"{self.name}: not running")
            return
        subprocess.run(
            as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]),
            capture_output=True, text=True,
        )
        log(f"{self.name}: stopped")


class Kafka(Component):
    @property
    def config_file(self) -> Path:
        return self.home / "server.properties"

    def url(self) -> str:
        return f"localhost:{self.settings.kafka_port} (bootstrap)"

    def healthy(self) -> bool:
        from confluent_kafka.admin import AdminClient

        if not port_open(self.settings.kafka_port):
            return False
        # log_level 3 keeps librdkafka quiet while the broker is still coming up.
        admin = AdminClient({"bootstrap.servers": f"localhost:{self.settings.kafka_port}", "log_level": 3})
        metadata = admin.list_topics(timeout=3)
        return len(metadata.brokers) >= 1

    def _java(self, main_class: str, *args: str, heap: str = "256m") -> list[str]:
        return [
            "java", f"-Xmx{heap}", "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            "-cp", f"{KAFKA_LIBS}/*", main_class, *args,
        ]

    def write_config(self) -> None:
        s = self.settings
        self.config_file.write_text(
            "\n".join([
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@localhost:{s.kafka_controller_port}",
                f"listeners=PLAINTEXT://localhost:{s.kafka_port},CONTROLLER://localhost:{s.kafka_controller_port}",
                f"advertised.listeners=PLAINTEXT://localhost:{s.kafka_port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
                f"log.dirs={self.home / 'data'}",
                f"num.partitions={s.kafka_topic_partitions}",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=true",
                "",
            ])
        )
        (self.home / "log4j2.properties").write_text(
            "\n".join([
                "status = warn",
                "appender.out.type = Console",
                "appender.out.name = out",
                "appender.out.layout.type = PatternLayout",
                "appender.out.layout.pattern = [%d] %p %m (%c)%n",
                "rootLogger.level = INFO",
                "rootLogger.appenderRef.out.ref = out",
                "logger.kafka.name = kafka",
                "logger.kafka.level = WARN",
                "logger.apache.name = org.apache.kafka",
                "logger.apache.level = WARN",
                "",
            ])
        )

    def start(self) -> None:
        require_tool("java", "Java", "install a JDK 17 (apt-get install openjdk-17-jre-headless)")
        if not any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
            raise StackError(f"Kafka jars missing in {KAFKA_LIBS}: run `make setup` (Maven resolves them)")
        require_free_port(self.settings.kafka_port, "Kafka", "KAFKA_BOOTSTRAP_SERVERS")
        require_free_port(self.settings.kafka_controller_port, "Kafka controller", "KAFKA_CONTROLLER_PORT")
        self.write_config()
        if not (self.home / "data" / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            formatted = subprocess.run(
                self._java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(self.config_file)),
                capture_output=True, text=True,
            )
            if formatted.returncode != 0:
                raise StackError(f"formatting Kafka storage failed: {formatted.stderr.strip()[-500:]}")
        spawn(self._java("kafka.Kafka", str(self.config_file), heap=self.settings.kafka_heap),
              self.log_file, self.pid_file)


def flink_home() -> Path:
    import pyflink

    return Path(pyflink.__file__).resolve().parent


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
        deadline = time.monotonic() + grace_s
        while not self.safe_healthy():
            if not self.taskmanager_pids() or time.monotonic() > deadline:
                return False
            time.sleep(0.5)
        return True

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


INFRA = ("redis", "postgres", "kafka", "flink")
APP = ("track", "job", "heartbeat", "sync", "api")
DEMO = ("loadgen",)
GROUPS = {"infra": INFRA, "app": APP, "demo": DEMO, "all": INFRA + APP + DEMO}
# What each component needs running first: `up track` starts Kafka too instead of waiting for it.
NEEDS = {
    "track": ("kafka",),
    "job": ("redis", "kafka", "flink"),
    "heartbeat": ("kafka",),
    "sync": ("redis", "postgres"),
    "api": ("redis", "postgres"),
    "loadgen": ("track",),
}


def components(settings: StackSettings) -> list[Component]:
    """Everything the local stack can run, in start order."""
    from localstack.services import FlinkJob, ServiceProcess

    s = settings
    return [
        Redis("redis", s),
        Postgres("postgres", s),
        Kafka("kafka", s),
        Flink("flink", s),
        ServiceProcess("track", s, module="track_service", port=s.track_port, health_path="/health",
                       port_variable="TRACK_PORT"),
        FlinkJob("job", s),
        ServiceProcess("heartbeat", s, module="flink_service.heartbeat"),
        ServiceProcess("sync", s, module="sync_service", port=s.sync_metrics_port or None,
                       health_path="/metrics", port_variable="SYNC_METRICS_PORT"),
        ServiceProcess("api", s, module="api_service", port=s.api_port, health_path="/health",
                       port_variable="API_PORT"),
        ServiceProcess("loadgen", s, module="track_service.loadgen",
                       args=("--via", "http", "--url", f"http://localhost:{s.track_port}",
                             "--rate", str(s.loadgen_rate), "--duration", str(365 * 86400), "--jitter-ms", "2000",
                             # Small batches spread the traffic evenly over each second.
                             "--batch-size", str(max(1, int(s.loadgen_rate / 4))), "--quiet")),
    ]


def selected(settings: StackSettings, names: list[str], with_needs: bool = False) -> list[Component]:
    """The named components (or groups) in start order; `with_needs` adds what they need, transitively."""
    wanted: set[str] = set()
    for name in names or ["all"]:
        wanted.update(GROUPS.get(name, (name,)))
    if settings.loadgen_rate == 0:
        wanted.discard("loadgen")
    pending = list(wanted) if with_needs else []
    while pending:
        for need in NEEDS.get(pending.pop(), ()):
            if need not in wanted:
                wanted.add(need)
                pending.append(need)
    return [c for c in components(settings) if c.name in wanted]


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
    log(f"  logs      {settings.run_dir}/<component>/   (make logs, make status, make down)")
    return 0


def cmd_down(settings: StackSettings, names: list[str]) -> int:
    for component in reversed(selected(settings, names)):
        component.stop()
    return 0


def cmd_status(settings: StackSettings, names: list[str]) -> int:
    all_ok = True
    for component in selected(settings, names):
        pid = component.running_pid()
        ok = component.safe_healthy()
        all_ok &= ok
        state = "healthy" if ok else ("unhealthy" if pid else "stopped")
        pid_text = f" (pid {pid})" if pid else ""
        print(f"{component.name:9} {state + pid_text:22} {component.url()}")
    return 0 if all_ok else 1


def cmd_logs(settings: StackSettings, names: list[str]) -> int:
    for component in selected(settings, names):
        print(f"==> {component.log_file} <==")
        if component.log_file.exists():
            print("\n".join(component.log_file.read_text(errors="replace").splitlines()[-40:]))
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
    except subprocess.CalledProcessError as error:
        detail = (error.stderr or "").strip().splitlines()[-1:] if isinstance(error.stderr, str) else []
        print(f"[stack] error: {' '.join(map(str, error.cmd))} failed: {' '.join(detail)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
