#!/usr/bin/env bash
# Kafka entrypoint (KRaft), for the jars in /opt/kafka/libs:
#   broker            write /opt/kafka/config/server.properties from the environment, format the log
#                     directory on first start (CLUSTER_ID), run the broker in the foreground
#   kafka-topics ARGS Kafka's topic tool (org.apache.kafka.tools.TopicCommand)
#   health            the healthcheck: the broker answers an ApiVersions request on
#                     KAFKA_HEALTH_ADDRESS (default localhost:19092) with error code 0 (what every
#                     client sends first), without starting a JVM
# Every KAFKA_X_Y=value except the entrypoint's own (KAFKA_HEAP_OPTS, KAFKA_HEALTH_ADDRESS) becomes
# x.y=value, the convention of the apache/kafka image.
set -euo pipefail
LIBS=/opt/kafka/libs
CONFIG=/opt/kafka/config/server.properties

java_tool() {
  local main=$1; shift
  exec java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dlog4j2.level=warn -cp "$LIBS/*" "$main" "$@"
}

write_config() {
  local name value key
  : > "$CONFIG"
  while IFS='=' read -r name value; do
    case "$name" in KAFKA_HEAP_OPTS|KAFKA_HEALTH_ADDRESS|KAFKA_JVM_OPTS) continue ;; esac
    key=$(printf '%s' "${name#KAFKA_}" | tr '[:upper:]_' '[:lower:].')
    printf '%s=%s\n' "$key" "$value" >> "$CONFIG"
  done < <(env | grep -E '^KAFKA_[A-Z0-9_]+=' | sort)
  cat > /opt/kafka/config/log4j2.properties <<'LOG'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
LOG
}

# ApiVersions v0 (key 18), correlation id 1, client id "health"; the answer starts with its size,
# the correlation id and a 2-byte error code, which must be 0.
health() {
  local address=${KAFKA_HEALTH_ADDRESS:-localhost:19092} answer
  exec 3<>"/dev/tcp/${address%:*}/${address##*:}"
  printf '\x00\x00\x00\x10\x00\x12\x00\x00\x00\x00\x00\x01\x00\x06health' >&3
  answer=$(timeout 5 head -c 10 <&3 | od -An -tx1 | tr -d ' \n') || true
  exec 3<&-
  [ "${answer:8:8}" = 00000001 ] && [ "${answer:16:4}" = 0000 ] \
    || { echo "no ApiVersions answer from $address (got '${answer}')" >&2; exit 1; }
}

case "${1:-broker}" in
  broker)
    write_config
    log_dirs=$(sed -n 's/^log\.dirs=//p' "$CONFIG")
    if [ ! -f "${log_dirs%%,*}/meta.properties" ]; then
      : "${CLUSTER_ID:?CLUSTER_ID must be set to format a new log directory}"
      echo "formatting ${log_dirs} for cluster ${CLUSTER_ID}"
      java -Xmx256m -cp "$LIBS/*" -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties \
        kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$CONFIG"
    fi
    # shellcheck disable=SC2086  # heap options are words
    exec java ${KAFKA_HEAP_OPTS:--Xmx512m -Xms512m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -cp "$LIBS/*" kafka.Kafka "$CONFIG"
    ;;
  kafka-topics) shift; java_tool org.apache.kafka.tools.TopicCommand "$@" ;;
  health) health ;;
  *) exec "$@" ;;
esac
