"""Static checks of the Docker packaging (no Docker engine needed; test_stack.py runs the stack).

What they prove: Compose accepts the file; every long-running service has a healthcheck and a
restart policy, every dependency waits for health (or for a one-shot's success) and every
one-shot is waited for; every image is built here, FROM debian:bookworm-slim only, with the local
stack's pins; state lives in named volumes; the env each Python container gets is exactly what its
Settings class reads (and parses); the Dockerfiles run as non-root, share their common stages (built
once), install pyproject.toml's dependency set and keep build tools out of the final image.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from pydantic_settings import BaseSettings

from harness.compose_stack import COMPOSE_FILE, SCALE_FILE
from tests.compose.conftest import ONE_SHOT_SERVICES, REPO_ROOT, run_compose

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
PROJECT_VERSION = PYPROJECT["project"]["version"]
DOCKERFILES = sorted((REPO_ROOT / "containers").glob("*.Dockerfile"))
PYTHON_DOCKERFILES = [REPO_ROOT / "containers" / name for name in ("flink.Dockerfile", "service.Dockerfile")]
BASE_IMAGE = "debian:bookworm-slim"
POM = (REPO_ROOT / "localstack" / "pom.xml").read_text()

# Compose service -> the Settings class its container loads.
SETTINGS_OF_SERVICE = {
    "track_service": "track_service.settings",
    "api_service": "api_service.settings",
    "sync_service": "sync_service.settings",
    "flink-submit": "flink_service.replay:ReplaySettings",  # the job's settings, and PostgreSQL's for the replay
    "flink-heartbeat": "flink_service.settings",
    "loadgen": "track_service.settings",
}
# Env a Python container gets that is not a Settings field, and who reads it.
NON_SETTINGS_ENV = {
    "flink-submit": {"FLINK_PROPERTIES"},  # the Flink image's entrypoint (client conf/config.yaml)
    "loadgen": {"LOADGEN_RATE", "TRACK_URL"},  # the container's shell command (--rate, --url)
}
# Fields compose decides, so a container must be told them even where the default would parse:
# credentials chosen in .env and the ports compose publishes and health-checks.
COMPOSE_DECIDED_FIELDS = {
    "redis_password", "postgres_password", "postgres_user", "postgres_db",
    "track_port", "api_port", "sync_metrics_port",
}


def services(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = model["services"]
    return result


def depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):  # short form: no condition at all
        return {name: {"condition": "service_started"} for name in deps}
    result: dict[str, dict[str, Any]] = deps
    return result


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}


def flink_properties(service: dict[str, Any]) -> dict[str, str]:
    lines = env_of(service).get("FLINK_PROPERTIES", "").splitlines()
    return dict((key.strip(), value.strip()) for key, _, value in (line.partition(":") for line in lines) if key)


# ---- Compose ------------------------------------------------------------------------------------


def test_compose_file_validates_for_every_profile() -> None:
    for profiles in ([], ["demo"]):
        run_compose("config", "-q", profiles=profiles)


def test_scale_overlay_validates_for_every_profile() -> None:
    for profiles in ([], ["demo"]):
        run_compose("config", "-q", profiles=profiles, files=(COMPOSE_FILE, SCALE_FILE))


def test_demo_profile_adds_only_the_load_generator(resolved_demo: dict[str, Any]) -> None:
    # (Compose v1's `config` lists profiled services whatever the active profiles: read `profiles`.)
    profiled = {name: service.get("profiles") for name, service in services(resolved_demo).items()
                if service.get("profiles")}
    assert profiled == {"loadgen": ["demo"]}
    assert {"kafka", "jobmanager", "taskmanager", "flink-submit", "redis", "postgres",
            "track_service", "api_service", "sync_service"} <= set(services(resolved_demo))


def test_every_long_running_service_has_a_healthcheck_and_restart_policy(resolved: dict[str, Any]) -> None:
    for name, service in services(resolved).items():
        if name in ONE_SHOT_SERVICES:
            # One-shots run to completion: dependants wait with service_completed_successfully.
            assert "healthcheck" not in service, name
            assert service.get("restart", "no") == "no", f"{name}: a one-shot must not be restarted"
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, f"{name}: healthcheck test {check['test']}"
        assert service.get("restart") in {"unless-stopped", "always", "on-failure"}, f"{name}: restart policy"


def test_every_dependency_waits_for_health_or_completion(resolved: dict[str, Any]) -> None:
    all_services = services(resolved)
    for name, service in all_services.items():
        for dependency, spec in depends_on(service).items():
            condition = spec.get("condition")
            if dependency in ONE_SHOT_SERVICES:
                assert condition == "service_completed_successfully", f"{name} -> {dependency}: {condition}"
            else:
                assert condition == "service_healthy", f"{name} -> {dependency}: {condition}"
                assert "healthcheck" in all_services[dependency], f"{name} waits on {dependency} without a check"


def test_every_one_shot_is_waited_for_by_a_long_running_service(resolved: dict[str, Any]) -> None:
    # Otherwise `docker compose up --wait` reports the one-shot's exit as a failure (docker/compose#10596).
    all_services = services(resolved)
    for one_shot in ONE_SHOT_SERVICES:
        adopters = [
            name for name, service in all_services.items()
            if name not in ONE_SHOT_SERVICES
            and depends_on(service).get(one_shot, {}).get("condition") == "service_completed_successfully"
        ]
        assert adopters, f"no long-running service waits for {one_shot}"


def test_every_image_is_built_here_and_tagged_with_the_project_version(resolved: dict[str, Any]) -> None:
    # No registry image at all: each service builds from containers/*.Dockerfile (FROM Debian only).
    for name, service in services(resolved).items():
        assert "build" in service, f"{name} uses a registry image instead of one built here"
        build = service["build"]
        assert (REPO_ROOT / build["dockerfile"]).is_file(), f"{name}: no {build['dockerfile']}"
        assert build.get("network") == "host", f"{name}: builds reach the package registries on the host network"
        assert build.get("args", {}).get("BASE_IMAGE") == BASE_IMAGE, f"{name}: BASE_IMAGE defaults to {BASE_IMAGE}"
        image = service.get("image", "")
        assert image.startswith("realtime-analytics-"), f"{name}: image {image!r}"
        assert image.rsplit(":", 1)[1] == PROJECT_VERSION, f"{name}: built image {image}, project {PROJECT_VERSION}"


def test_state_lives_in_named_volumes(resolved: dict[str, Any]) -> None:
    all_services = services(resolved)
    declared = set(resolved.get("volumes") or {})

    def named_mounts(name: str) -> dict[str, str]:
        mounts = {}
        for volume in all_services[name].get("volumes", []):
            if isinstance(volume, str):
                source, target = volume.split(":")[:2]
                mounts[target] = source
            elif volume.get("type") == "volume":
                mounts[volume["target"]] = volume["source"]
        return mounts

    assert named_mounts("postgres").get("/var/lib/postgresql/data") in declared
    # Closed windows not yet synced to PostgreSQL survive `down`/`up` in Redis's append-only file.
    assert named_mounts("redis").get("/var/lib/redis") in declared
    kafka_dir = env_of(all_services["kafka"])["KAFKA_LOG_DIRS"]
    assert named_mounts("kafka").get(kafka_dir) in declared
    # Checkpoints: one volume shared by JobManager and TaskManager, where Flink writes them.
    checkpoint_dir = flink_properties(all_services["jobmanager"])["execution.checkpointing.dir"]
    path = checkpoint_dir.removeprefix("file://")
    jm, tm = named_mounts("jobmanager").get(path), named_mounts("taskmanager").get(path)
    assert jm and jm == tm and jm in declared
    assert flink_properties(all_services["taskmanager"])["execution.checkpointing.dir"] == checkpoint_dir


def test_taskmanager_can_be_scaled(resolved: dict[str, Any]) -> None:
    taskmanager = services(resolved)["taskmanager"]
    assert "container_name" not in taskmanager and not taskmanager.get("ports"), (
        "a container_name or host port would stop `--scale taskmanager=2`"
    )


def test_write_keys_are_on_by_default(resolved: dict[str, Any]) -> None:
    """keys-init makes the key (unless TRACK_API_KEYS is set) before track_service starts; both read one volume."""
    all_services = services(resolved)
    keys_init, track = all_services["keys-init"], all_services["track_service"]
    assert depends_on(track)["keys-init"]["condition"] == "service_completed_successfully"
    assert "tools.write_key" in " ".join(keys_init["command"])
    assert env_of(keys_init) == {"TRACK_API_KEYS": ""} and env_of(track)["TRACK_API_KEYS"] == ""

    def keys_volume(service: dict[str, Any]) -> tuple[str, bool]:
        mount = next(v for v in service["volumes"] if v["target"] == "/var/lib/track-keys")
        return mount["source"], bool(mount.get("read_only"))

    assert keys_volume(keys_init) == ("track-keys", False)
    assert keys_volume(track) == ("track-keys", True)
    assert "/var/lib/track-keys/write-key" in " ".join(track["command"]) and "track-keys" in resolved["volumes"]


# ---- The scaled stack (docker-compose.scale.yml) ----------------------------------------------------


BROKERS = ("kafka", "kafka-2", "kafka-3")


def test_three_brokers_form_one_quorum_and_replicate_everything(resolved_scale: dict[str, Any]) -> None:
    all_services = services(resolved_scale)
    envs = [env_of(all_services[name]) for name in BROKERS]
    assert [env["KAFKA_NODE_ID"] for env in envs] == ["1", "2", "3"]
    voters = {env["KAFKA_CONTROLLER_QUORUM_VOTERS"] for env in envs}
    assert voters == {"1@kafka:29093,2@kafka-2:29093,3@kafka-3:29093"}, "every broker a voter of one quorum"
    for name, env in zip(BROKERS, envs, strict=True):
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller", name
        assert f"PLAINTEXT://{name}:19092" in env["KAFKA_ADVERTISED_LISTENERS"], name
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2" and env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3", name
        for internal in ("OFFSETS_TOPIC", "TRANSACTION_STATE_LOG", "SHARE_COORDINATOR_STATE_TOPIC"):
            assert env[f"KAFKA_{internal}_REPLICATION_FACTOR"] == "3", f"{name}: {internal}"
    data_volumes = {next(v["source"] for v in all_services[name]["volumes"]) for name in BROKERS}
    assert len(data_volumes) == 3 and data_volumes <= set(resolved_scale["volumes"])
    published = {port["published"] for name in BROKERS for port in all_services[name]["ports"]}
    assert len(published) == 3, "each broker advertises a host port of its own"
    # The events topic: replication factor 3, two in-sync replicas needed to acknowledge (acks=all).
    create = all_services["kafka-init"]["command"]
    assert "--replication-factor=3" in create and "--config=min.insync.replicas=2" in create
    assert set(depends_on(all_services["kafka-init"])) == set(BROKERS)


def test_every_kafka_client_bootstraps_from_every_broker(resolved_scale: dict[str, Any]) -> None:
    clients = {name: env_of(service) for name, service in services(resolved_scale).items()
               if "KAFKA_BOOTSTRAP_SERVERS" in env_of(service)}
    assert {"track_service", "flink-submit", "flink-heartbeat", "loadgen"} <= set(clients)
    for name, env in clients.items():
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:19092,kafka-2:19092,kafka-3:19092", name
        assert env["KAFKA_TOPIC_REPLICATION"] == "3", f"{name} would create a topic with fewer replicas"


def test_taskmanagers_each_fit_the_whole_job(resolved_scale: dict[str, Any]) -> None:
    """Parallelism = partitions, and each TaskManager has that many slots: the survivor runs the job alone."""
    all_services = services(resolved_scale)
    taskmanager = all_services["taskmanager"]
    assert int(taskmanager["deploy"]["replicas"]) >= 2
    partitions = env_of(all_services["track_service"])["KAFKA_TOPIC_PARTITIONS"]
    assert f"--partitions={partitions}" in all_services["kafka-init"]["command"]
    assert env_of(all_services["flink-submit"])["FLINK_PARALLELISM"] == partitions
    for name in ("jobmanager", "taskmanager", "flink-submit"):
        properties = flink_properties(all_services[name])
        assert properties["taskmanager.numberOfTaskSlots"] == partitions, name
        assert properties["taskmanager.load-balance.mode"] == "slots", f"{name}: subtasks spread over both"


def test_replicas_sit_behind_the_gateway_on_the_single_node_ports(resolved_scale: dict[str, Any]) -> None:
    all_services = services(resolved_scale)
    gateway = all_services["gateway"]
    published = {str(port["published"]) for port in gateway["ports"]}
    assert published == {"8001", "8000"}, "clients keep the single-node stack's URLs"
    for name in ("track_service", "api_service"):
        assert int(all_services[name]["deploy"]["replicas"]) >= 2, name
        assert not all_services[name].get("ports"), f"{name}: replicas publish no host port of their own"
        assert depends_on(gateway)[name]["condition"] == "service_healthy"
    config = (REPO_ROOT / "containers" / "gateway.cfg").read_text()
    assert 'server-template track 8 "track_service:${TRACK_PORT}"' in config
    assert 'server-template api 8 "api_service:${API_PORT}"' in config
    assert env_of(gateway) == {"TRACK_PORT": "8001", "API_PORT": "8000"}
    assert env_of(all_services["loadgen"])["TRACK_URL"] == "http://gateway:8001"


def test_credentials_and_ports_come_from_env_with_defaults() -> None:
    # Compose interpolations only: `$${X}` is an escape, read by a container's shell.
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    for name in ("REDIS_PASSWORD", "POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB", "KAFKA_HOST_PORT",
                 "REDIS_HOST_PORT", "POSTGRES_HOST_PORT", "FLINK_UI_PORT", "TRACK_PORT", "API_PORT"):
        uses = re.findall(r"(?<!\$)\$\{" + name + r"(:-[^}]*)?\}", text)
        assert uses and all(uses), f"${{{name}}} must be used, always with a default (${{{name}:-...}})"
    assert "redispass" not in text.replace("${REDIS_PASSWORD:-redispass}", ""), "Redis password hard-coded"
    scale = SCALE_FILE.read_text()
    uses = re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)(:-[^}]*)?\}", scale)
    assert uses and all(default for _, default in uses), "every variable of the overlay has a default"


# ---- Env vs the services' Settings ----------------------------------------------------------------


def settings_class(name: str) -> type[BaseSettings]:
    """`module` (its `Settings`) or `module:Class`."""
    module_name, _, class_name = name.partition(":")
    package = module_name.split(".")[0]
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} does not exist yet: its container env cannot be checked")
    cls: type[BaseSettings] = getattr(importlib.import_module(module_name), class_name or "Settings")
    return cls


def must_be_passed(name: str, field: Any) -> bool:
    """A field whose default is wrong inside a container, or one compose itself decides."""
    default = field.default
    return (
        name in COMPOSE_DECIDED_FIELDS
        or isinstance(default, Path)
        or (isinstance(default, str) and ("localhost" in default or "127.0.0.1" in default))
    )


@pytest.mark.parametrize("service_name", sorted(SETTINGS_OF_SERVICE))
def test_container_env_is_what_the_settings_class_reads(
    service_name: str, resolved_demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    cls = settings_class(SETTINGS_OF_SERVICE[service_name])
    env = env_of(services(resolved_demo)[service_name])
    fields = cls.model_fields
    unknown = {name for name in env if name.lower() not in fields} - NON_SETTINGS_ENV.get(service_name, set())
    assert not unknown, f"{service_name}: compose passes {sorted(unknown)}, which {cls.__qualname__} ignores"
    missing = {name.upper() for name, field in fields.items() if must_be_passed(name, field)} - set(env)
    assert not missing, f"{service_name}: compose must pass {sorted(missing)} (no safe default in a container)"
    # And the values parse: load the Settings exactly as the container would.
    for name in fields:
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    loaded = cls(_env_file=None)
    for name, value in env.items():
        if name.lower() in fields and value:
            loaded_value = getattr(loaded, name.lower())
            if isinstance(loaded_value, bool):  # e.g. WINDOW_PERCENTILES: "true"
                assert loaded_value is (value.lower() in {"1", "true", "yes", "on"}), f"{service_name}: {name}"
            elif isinstance(loaded_value, float):
                assert loaded_value == float(value), f"{service_name}: {name}"
            else:
                assert str(loaded_value) == value, f"{service_name}: {name}"


@pytest.mark.parametrize("service_name", sorted(SETTINGS_OF_SERVICE))
def test_container_command_runs_an_existing_module(service_name: str, resolved_demo: dict[str, Any]) -> None:
    command = services(resolved_demo)[service_name]["command"]
    text = command if isinstance(command, str) else " ".join(command)
    match = re.search(r"python -m ([\w.]+)", text)
    assert match, f"{service_name}: command {text!r} does not run `python -m <module>`"
    module = match.group(1)
    if importlib.util.find_spec(module.split(".")[0]) is None:
        pytest.skip(f"{module.split('.')[0]} does not exist yet")
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"{service_name}: no module {module}"
    if spec.submodule_search_locations is not None:
        assert importlib.util.find_spec(f"{module}.__main__") is not None, f"{module} has no __main__"


# ---- Dockerfiles ----------------------------------------------------------------------------------


def stages(dockerfile: Path) -> list[tuple[str, list[str]]]:
    """(FROM image, instructions) per stage, line continuations joined."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    result: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            result.append((line.split()[1], []))
        elif result:
            result[-1][1].append(line)
    return result


def stage_texts(dockerfile: Path) -> dict[str, str]:
    """Stage name -> its instructions from FROM to the next FROM (comments and blank lines left out)."""
    text = dockerfile.read_text()
    parts = re.split(r"^(?=FROM )", text, flags=re.M)[1:]
    result = {}
    for part in parts:
        name = part.splitlines()[0].split()[-1]
        result[name] = "\n".join(line for line in part.splitlines() if line.strip() and not line.startswith("#"))
    return result


def test_there_are_dockerfiles() -> None:
    assert {path.name for path in DOCKERFILES} == {
        "flink.Dockerfile", "gateway.Dockerfile", "kafka.Dockerfile", "postgres.Dockerfile", "redis.Dockerfile",
        "service.Dockerfile"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_the_only_base_is_debian_bookworm_slim(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    assert f"ARG BASE_IMAGE={BASE_IMAGE}" in text.splitlines()
    stage_names = {line.split()[-1] for line in text.splitlines() if " AS " in line}
    for image, _ in stages(dockerfile):
        assert image == "${BASE_IMAGE}" or image in stage_names, f"{dockerfile.name}: FROM {image}"
    # A `# syntax=` line makes BuildKit fetch its frontend from Docker Hub.
    assert not re.search(r"^#\s*syntax=", text, re.M), f"{dockerfile.name}: drop the syntax line"


def test_shared_stages_are_identical_so_each_is_built_once() -> None:
    # The classic builder reuses a layer only for the same instruction on the same parent.
    texts = {path.name: stage_texts(path) for path in DOCKERFILES}
    shared = {"base": [path.name for path in DOCKERFILES], "java": ["flink.Dockerfile", "kafka.Dockerfile"],
              "jars": ["flink.Dockerfile", "kafka.Dockerfile"]}
    shared.update({stage: ["flink.Dockerfile", "service.Dockerfile"] for stage in ("python", "deps", "app")})
    for stage, names in shared.items():
        versions = {texts[name][stage] for name in names}
        assert len(versions) == 1, f"stage {stage} differs between {names}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_final_stage_is_non_root_and_has_no_build_tools(dockerfile: Path) -> None:
    _, final = stages(dockerfile)[-1]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users and users[-1] not in {"root", "0", "0:0"}, f"{dockerfile.name}: final stage runs as root"
    joined = "\n".join(final)
    for tool in ("build-essential", "gcc", "maven", "npm", "uv "):
        assert tool not in joined, f"{dockerfile.name}: {tool} in the final stage"


def test_flink_and_kafka_come_from_the_local_stacks_own_pins() -> None:
    flink = (REPO_ROOT / "containers" / "flink.Dockerfile").read_text()
    # Flink is the distribution inside the apache-flink wheel that pyproject.toml pins.
    flink_pin = next(req for req in PYPROJECT["project"]["dependencies"] if req.startswith("apache-flink"))
    assert Requirement(flink_pin).specifier == SpecifierSet("==2.2.1")
    assert "site-packages/pyflink" in flink and "FLINK_HOME=/opt/flink" in flink
    assert "COPY --from=jars /build/target/flink-libs/ /opt/flink/lib/" in flink
    # Kafka and the connector: Maven resolves localstack/pom.xml, as `make setup` does.
    jars = stage_texts(REPO_ROOT / "containers" / "kafka.Dockerfile")["jars"]
    assert "COPY localstack/pom.xml" in jars and "-P kafka" in jars and "-P 'flink,!kafka'" in jars
    assert "COPY --from=jars /build/target/kafka-libs/" in (REPO_ROOT / "containers" / "kafka.Dockerfile").read_text()
    for package in ("openjdk-17-jre-headless", "python3"):
        assert package in flink


@pytest.mark.parametrize("dockerfile", PYTHON_DOCKERFILES, ids=lambda path: path.name)
def test_dockerfile_installs_the_pyproject_dependency_set(dockerfile: Path) -> None:
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    assert "containers/pyproject_requirements.py pyproject.toml > requirements.txt" in text
    installs = re.findall(r"(?:pip|uv pip) install ([^&\n]*)", text)
    for args in installs:
        words = [word for word in args.split() if not word.startswith("-") and word != "/opt/venv/bin/python"]
        # Only the generated list and the project itself (--no-deps).
        assert words in (["requirements.txt"], ["."]), f"{dockerfile.name}: pip install {args}"
        if words == ["."]:
            assert "--no-deps" in args, f"{dockerfile.name}: the project is installed without deps"
    # The dependency layer comes before the code.
    first_code_copy = min(text.index(f"COPY {pkg}/ ./{pkg}/") for pkg in ("contracts", "flink_service"))
    assert text.index("-r requirements.txt") < first_code_copy


def test_dockerfiles_copy_every_project_package() -> None:
    packages = [
        pattern.rstrip("*") for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
        if pattern.rstrip("*") != "localstack"  # the local, non-Docker stack
    ]
    for dockerfile in PYTHON_DOCKERFILES:
        text = dockerfile.read_text()
        for package in packages:
            assert f"COPY {package}/ ./{package}/" in text, f"{dockerfile.name} does not copy {package}"
            assert (REPO_ROOT / package).is_dir(), f"{dockerfile.name} copies {package}, which does not exist"


def test_requirements_script_lists_exactly_the_local_stack_dependencies() -> None:
    done = subprocess.run(
        ["python3", str(REPO_ROOT / "containers" / "pyproject_requirements.py"), str(REPO_ROOT / "pyproject.toml")],
        capture_output=True, text=True, check=True,
    )
    listed = done.stdout.splitlines()
    assert listed == PYPROJECT["project"]["dependencies"]
    # The local stack's venv satisfies each of them: images and local runs use one dependency set.
    for line in listed:
        requirement = Requirement(line)
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            pytest.fail(f"{requirement.name} is in pyproject.toml but not in the local venv")
        assert requirement.specifier.contains(installed, prereleases=True), f"{requirement.name} {installed}"


def test_dockerignore_keeps_secrets_and_host_builds_out() -> None:
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    for pattern in ("**/.env", "dashboard/node_modules", "dashboard/dist", "**/__pycache__"):
        assert pattern in lines
    # Everything a Dockerfile copies is allowed back in.
    for dockerfile in DOCKERFILES:
        for source in re.findall(r"^COPY (?!--from)(?:--\S+ )*(\S+)", dockerfile.read_text(), re.M):
            top = source.split("/")[0]
            assert f"!{top}/" in lines or f"!{source}" in lines, f"{source} is excluded by .dockerignore"
