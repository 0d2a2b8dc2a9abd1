# syntax=docker/dockerfile:1
# Flink JobManager / TaskManager / job-submit image: the official Flink 2.2.1 image (Java 17) plus
#  - the Kafka SQL connector in lib/, resolved from Maven Central with the local stack's pom.xml
#    (same version as `make setup` uses: localstack/pom.xml, profile `flink`);
#  - Python 3.11 with the project's dependency set (apache-flink==2.2.1 among them) in /opt/venv,
#    and the project's packages, so the PyFlink job's Python workers import flink_service on the
#    TaskManagers and `python -m flink_service.submit` can run `flink run -py` in this image.
# The Flink image is Ubuntu (noble, Python 3.12), so Python 3.11 comes as a standalone build
# installed by uv in a build stage; only the interpreter and the venv reach the final image.

# ---- connector: flink-sql-connector-kafka from Maven Central ----
FROM maven:3.9.9-eclipse-temurin-17 AS connector
WORKDIR /build
COPY localstack/pom.xml ./pom.xml
RUN mvn -B -q dependency:copy-dependencies -P 'flink,!kafka' \
 && ls target/flink-libs/flink-sql-connector-kafka-*.jar

# ---- uv, pinned, from PyPI ----
FROM python:3.11.14-slim-bookworm AS uv
RUN pip install --no-cache-dir uv==0.13.9

# ---- python: interpreter + dependency layer, then the project ----
FROM flink:2.2.1-java17 AS python
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
COPY --from=uv /usr/local/bin/uv /usr/local/bin/uv
ENV UV_PYTHON_INSTALL_DIR=/opt/python UV_NO_CACHE=1 UV_PYTHON_PREFERENCE=only-managed
RUN uv python install 3.11.14 && uv venv --python 3.11.14 /opt/venv
WORKDIR /build
COPY pyproject.toml ./
COPY containers/pyproject_requirements.py ./containers/
RUN /opt/venv/bin/python containers/pyproject_requirements.py pyproject.toml > requirements.txt \
 && uv pip install --python /opt/venv/bin/python -r requirements.txt
COPY contracts/ ./contracts/
COPY flink_service/ ./flink_service/
COPY track_service/ ./track_service/
COPY api_service/ ./api_service/
COPY sync_service/ ./sync_service/
COPY tools/ ./tools/
RUN uv pip install --python /opt/venv/bin/python --no-deps .

# ---- runtime ----
FROM flink:2.2.1-java17 AS runtime
USER root
COPY --from=python /opt/python /opt/python
COPY --from=python /opt/venv /opt/venv
COPY --from=connector --chown=flink:flink /build/target/flink-libs/ /opt/flink/lib/
COPY containers/container_health.py /opt/container_health.py
# The checkpoint volume is mounted here; a new named volume takes this directory's owner.
RUN mkdir -p /opt/flink/checkpoints && chown flink:flink /opt/flink/checkpoints
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER flink
# ENTRYPOINT and CMD stay the official image's: `jobmanager`, `taskmanager`, or a command to run.
