"""The local stack's infrastructure servers as supervised programs: Redis, PostgreSQL and Kafka (KRaft)."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from localstack.component import Component
from localstack.processes import StackError, port_open, require_free_port, require_java, require_tool, wait_for
from localstack.settings import KAFKA_LIBS, PG_BIN
from localstack.supervisor import Program


def as_postgres_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its commands as Debian's `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


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

    def programs(self) -> list[Program]:
        cmd = [
            "redis-server", "--port", str(self.settings.redis_port), "--bind", "127.0.0.1",
            "--dir", str(self.home), "--daemonize", "no", "--save", "",
            # Written before each reply leaves, so a restarted Redis still has every window it acknowledged
            # that the sync worker has not moved to PostgreSQL yet.
            "--appendonly", "yes", "--appendfsync", "everysec",
        ]
        if self.settings.redis_password:
            cmd += ["--requirepass", self.settings.redis_password]
        return [Program("redis", cmd, self.log_file, directory=self.home)]

    def prepare(self, programs: list[Program]) -> None:
        require_tool("redis-server", "redis-server", "run `make setup` (installs Debian's redis-server)")
        require_free_port(self.settings.redis_port, "Redis", "REDIS_PORT")


class Postgres(Component):
    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    def url(self) -> str:
        s = self.settings
        return f"postgresql://{s.postgres_user}:***@127.0.0.1:{s.postgres_port}/{s.postgres_db}"

    def programs(self) -> list[Program]:
        s = self.settings
        # `postgres` itself in the foreground (not pg_ctl, which daemonizes it); SIGINT is its fast shutdown.
        cmd = [str(PG_BIN / "postgres"), "-D", str(self.data_dir), "-p", str(s.postgres_port), "-k", str(self.home),
               "-c", "listen_addresses=127.0.0.1"]
        user = "postgres" if os.geteuid() == 0 else None  # it refuses to run as root
        return [Program("postgres", cmd, self.log_file, directory=self.home, user=user, stop_signal="INT",
                        stop_wait_s=60)]

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

    def prepare(self, programs: list[Program]) -> None:
        require_tool(PG_BIN / "postgres", "PostgreSQL 15", "run `make setup` (installs Debian's postgresql-15)")
        require_free_port(self.settings.postgres_port, "PostgreSQL", "POSTGRES_PORT")
        if os.geteuid() == 0:
            # The postgres user must be able to reach its data dir through the run folder.
            for parent in [self.home, *self.home.parents]:
                if parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o011)
            shutil.chown(self.home, "postgres", "postgres")
        if not (self.data_dir / "PG_VERSION").exists():
            pwfile = self.home / "pwfile"
            pwfile.write_text(self.settings.postgres_password + "\n")
            if os.geteuid() == 0:
                shutil.chown(pwfile, "postgres", "postgres")
            pwfile.chmod(0o600)
            initdb = subprocess.run(
                as_postgres_user([str(PG_BIN / "initdb"), "-D", str(self.data_dir), "-U", self.settings.postgres_user,
                                  f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8",
                                  "--locale=C.UTF-8"]),
                capture_output=True, text=True,
            )
            pwfile.unlink()
            if initdb.returncode != 0:
                raise StackError(f"initdb failed: {initdb.stderr.strip()[-500:]}")

    def started(self) -> None:
        wait_for("PostgreSQL server", lambda: self._psql("postgres", "select 1").returncode == 0, 60, self.log_file)
        db = self.settings.postgres_db
        if self._psql("postgres", f"select 1 from pg_database where datname = '{db}'").stdout.strip() != "1":
            created = self._psql("postgres", f'create database "{db}"')
            if created.returncode != 0:
                raise StackError(f"could not create database {db}: {created.stderr.strip()}")
        super().started()


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
            "-Dlog4j2.level=WARN",  # log4j's default configuration (to the console) at WARN, as in containers/
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
                f"log.retention.hours={s.kafka_retention_hours}",
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

    def programs(self) -> list[Program]:
        cmd = self._java("kafka.Kafka", str(self.config_file), heap=self.settings.kafka_heap)
        return [Program("kafka", cmd, self.log_file, directory=self.home, stop_wait_s=60)]

    def prepare(self, programs: list[Program]) -> None:
        require_java()
        if not any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
            raise StackError(f"Kafka jars missing in {KAFKA_LIBS}: run `make setup` (Maven resolves them)")
        require_free_port(self.settings.kafka_port, "Kafka", "KAFKA_BOOTSTRAP_SERVERS")
        require_free_port(self.settings.kafka_controller_port, "Kafka controller", "KAFKA_CONTROLLER_PORT")
        self.write_config()
        if not (self.home / "data" / "meta.properties").exists():
            self.format_storage(new_cluster_id())

    def format_storage(self, cluster_id: str) -> None:
        # `--cluster-id=ID`, one argument: as two, an id starting with '-' would be read as an option.
        formatted = subprocess.run(
            self._java("kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(self.config_file)),
            capture_output=True, text=True,
        )
        if formatted.returncode != 0:
            raise StackError(f"formatting Kafka storage failed: {formatted.stderr.strip()[-500:]}")


def new_cluster_id() -> str:
    """A random KRaft cluster id (a base64 UUID) that never starts with '-', as Kafka's own Uuid.randomUuid()
    ensures: such an id (about 1 in 64) is taken for an option by command-line tools such as kafka-storage."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id
