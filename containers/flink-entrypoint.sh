#!/usr/bin/env bash
# Entrypoint of the Flink image: writes conf/config.yaml, then runs the role.
#
#   jobmanager | taskmanager   the cluster process in the foreground (logs on stdout)
#   anything else              that command, with the same configuration (e.g. the `flink` CLI
#                              in `python -m flink_service.submit`)
#
# FLINK_PROPERTIES holds `key: value` lines (as for the official Flink image); each becomes a `-D`
# given to Flink's own config-parser-utils.sh, which merges it into the distribution's config.yaml.
set -euo pipefail

write_config() {
  local args=() line key value
  # From the distribution's defaults each time: a restarted container gets no stale keys.
  cp "$FLINK_CONF_DIR/config.yaml.dist" "$FLINK_CONF_DIR/config.yaml"
  while IFS= read -r line; do
    [[ "$line" =~ ^[[:space:]]*([^:#[:space:]]+)[[:space:]]*:[[:space:]]*(.*[^[:space:]])[[:space:]]*$ ]] || continue
    key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
    args+=(-D "$key=$value")
  done <<< "${FLINK_PROPERTIES:-}"
  # Bind the RPC and REST endpoints on every interface of the container, not on localhost.
  args+=(-D "jobmanager.bind-host=0.0.0.0" -D "taskmanager.bind-host=0.0.0.0" -D "rest.bind-address=0.0.0.0")
  args+=(-D "taskmanager.host=$(hostname -i | awk '{print $1}')")
  bash "$FLINK_HOME/bin/config-parser-utils.sh" "$FLINK_CONF_DIR" "$FLINK_HOME/bin" "$FLINK_LIB_DIR" \
    "${args[@]}" >/dev/null
}

write_config
case "${1:-help}" in
  jobmanager) exec "$FLINK_HOME/bin/jobmanager.sh" start-foreground ;;
  taskmanager) exec "$FLINK_HOME/bin/taskmanager.sh" start-foreground ;;
  help) echo "usage: jobmanager | taskmanager | COMMAND [ARGS...]"; exit 0 ;;
  *) exec "$@" ;;
esac
