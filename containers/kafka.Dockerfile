# Kafka 4.1.1 broker (KRaft, broker and controller in one process), FROM Debian only: Debian's
# Java 17 and the Kafka jars Maven resolves from localstack/pom.xml (the local stack's own pins).
# containers/kafka-entrypoint.sh turns KAFKA_* variables into server.properties (the convention of
# the apache/kafka image), formats the storage on first start and runs the broker; the same script
# is the healthcheck and the `kafka-topics` tool.
# The base, java and jars stages are written identically in flink.Dockerfile (built once).
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

# ---- runtime ----
FROM java AS runtime
RUN groupadd --system --gid 10001 kafka \
 && useradd --system --uid 10001 --gid kafka --home-dir /opt/kafka --no-create-home --shell /bin/bash kafka \
 && mkdir -p /opt/kafka/config /var/lib/kafka/data \
 && chown -R kafka:kafka /opt/kafka/config /var/lib/kafka
COPY --from=jars /build/target/kafka-libs/ /opt/kafka/libs/
COPY containers/kafka-entrypoint.sh /opt/kafka/kafka-entrypoint.sh
ENV PATH=/opt/kafka:$PATH
USER kafka
ENTRYPOINT ["/opt/kafka/kafka-entrypoint.sh"]
CMD ["broker"]
