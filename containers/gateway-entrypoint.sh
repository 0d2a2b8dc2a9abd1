#!/usr/bin/env bash
# Gateway entrypoint (HAProxy, containers/gateway.cfg, which reads TRACK_PORT and API_PORT):
#   (no argument)  check the configuration, then run HAProxy in the foreground (logs on stdout)
#   health         the healthcheck: each frontend answers its monitor URI with 200, which it does
#                  only while at least one replica behind it passes its own /health
set -euo pipefail
CONFIG=/etc/haproxy/gateway.cfg
# GET the monitor URI on localhost:PORT with bash's /dev/tcp (the image has no curl); 200 or fail.
monitor() {
  local port=$1 status
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET /gateway/health HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
  status=$(timeout 5 head -n 1 <&3 | tr -d '\r') || true
  exec 3<&-
  [[ "$status" == "HTTP/1."?" 200"* ]] || { echo "port $port: ${status:-no answer} (no healthy replica?)" >&2; exit 1; }
}

case "${1:-run}" in
  run | health) : "${TRACK_PORT:?TRACK_PORT must be set}" "${API_PORT:?API_PORT must be set}" ;;&
  run)
    haproxy -c -q -f "$CONFIG"
    exec haproxy -W -db -f "$CONFIG"
    ;;
  health) monitor "$TRACK_PORT"; monitor "$API_PORT" ;;
  *) exec "$@" ;;
esac
