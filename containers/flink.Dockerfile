# Flink JobManager / TaskManager / job-submit image, FROM Debian only (no other registry image):
#  - Flink 2.2.1 is the distribution inside the apache-flink wheel (pyflink/bin, lib, opt, plugins),
#    exactly what the local stack runs (localstack/stack.py, class Flink), so one pin in
#    pyproject.toml gives both run modes the same Flink;
#  - the Kafka SQL connector, resolved by Maven from localstack/pom.xml (profile `flink`);
#  - the job's Java functions (flink_service/functions), built by Maven, in /opt/flink/usrlib;
#  - Debian's Java 17 and Python 3.11, the project's dependency set in /opt/venv and the project,
#    so the TaskManagers' Python workers import flink_service and `python -m flink_service.submit`
#    runs `flink run -py` here.
# The first stages (base, java, jars, python, deps, app) are written identically in the other
# Dockerfiles, so the classic builder builds each once and reuses it for every image.
ARG BASE_IMAGE=debian:bookworm-slim

# ---- base: Debian with the system trust store, plus containers/extra-ca/*.crt (optional) ----
FROM ${BASE_IMAGE} AS base
COPY containers/extra-ca/ /usr/local/share/ca-certificates/extra/
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && update-ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# ---- java: Debian's Java 17 runtime (its keystore is made from the trust store above) ----
FROM base AS java
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/*

# ---- jars: the Kafka broker and the Flink connector from Maven Central (localstack/pom.xml) ----
FROM java AS jars
# The JDK compiles the Flink job's Java functions (flink.Dockerfile's stage `functions`).
RUN apt-get update \
 && apt-get install -y --no-install-recommends maven openjdk-17-jdk-headless \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY localstack/pom.xml ./pom.xml
RUN mvn -B -q dependency:copy-dependencies -P kafka \
 && mvn -B -q dependency:copy-dependencies -P 'flink,!kafka' \
 && ls target/kafka-libs/kafka_2.13-*.jar target/flink-libs/flink-sql-connector-kafka-*.jar

# ---- functions: the job's Java functions (flink_service/functions), as `make setup` builds them ----
FROM jars AS functions
WORKDIR /build/functions
COPY flink_service/functions/pom.xml ./pom.xml
COPY flink_service/functions/src/ ./src/
# Their unit tests run in the local tier (`make setup` packages with them).
RUN mvn -B -q package -DskipTests && ls target/event-functions.jar

# ---- python: Debian's Python 3.11 ----
FROM base AS python
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/*

# ---- deps: the dependency layer, rebuilt only when pyproject.toml changes ----
FROM python AS deps
# Compilers only here: a few transitive dependencies (e.g. crcmod) ship no wheel.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential python3-dev python3-venv \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CERT=/etc/ssl/certs/ca-certificates.crt
RUN python3 -m venv /opt/venv
WORKDIR /build
COPY pyproject.toml ./
COPY containers/pyproject_requirements.py ./containers/
RUN python3 containers/pyproject_requirements.py pyproject.toml > requirements.txt \
 && /opt/venv/bin/pip install -r requirements.txt

# ---- app: the project's packages, installed without touching the dependency layer ----
FROM deps AS app
COPY contracts/ ./contracts/
COPY track_service/ ./track_service/
COPY api_service/ ./api_service/
COPY sync_service/ ./sync_service/
COPY flink_service/ ./flink_service/
COPY tools/ ./tools/
RUN /opt/venv/bin/pip install --no-deps . \
 && rm -rf /opt/venv/lib/python3.11/site-packages/pyflink/examples

# ---- runtime ----
FROM java AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 procps \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 flink \
 && useradd --system --uid 10001 --gid flink --home-dir /opt/flink --no-create-home --shell /bin/bash flink
COPY --from=app /opt/venv /opt/venv
# FLINK_HOME: the wheel's distribution, with a conf/ the entrypoint writes and lib/ plus the connector.
RUN dist=/opt/venv/lib/python3.11/site-packages/pyflink \
 && mkdir -p /opt/flink/lib /opt/flink/log /opt/flink/checkpoints \
 && ln -s "$dist/bin" "$dist/opt" "$dist/plugins" /opt/flink/ \
 && ln -s "$dist"/lib/*.jar /opt/flink/lib/ \
 && cp -r "$dist/conf" /opt/flink/conf \
 && cp "$dist/conf/config.yaml" /opt/flink/conf/config.yaml.dist \
 && chown -R flink:flink /opt/flink/conf /opt/flink/log /opt/flink/checkpoints
COPY --from=jars /build/target/flink-libs/ /opt/flink/lib/
# FLINK_FUNCTIONS_JAR (docker-compose.yml) points here; `flink run` ships it with the job.
COPY --from=functions /build/functions/target/event-functions.jar /opt/flink/usrlib/event-functions.jar
COPY containers/flink-entrypoint.sh /opt/flink-entrypoint.sh
COPY containers/container_health.py /opt/container_health.py
# Flink's scripts find their home through the symlinked bin/ (the wheel's): point them here.
ENV FLINK_HOME=/opt/flink \
    FLINK_CONF_DIR=/opt/flink/conf \
    FLINK_LIB_DIR=/opt/flink/lib \
    FLINK_LOG_DIR=/opt/flink/log \
    PATH=/opt/venv/bin:/opt/flink/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /opt/flink
USER flink
ENTRYPOINT ["/opt/flink-entrypoint.sh"]
CMD ["help"]
